# Copies the web UI's sources (web/) into the build directory, where node_modules lives, so
# the source tree stays clean and one `npm ci` serves every rebuild. Folders are replaced
# whole, so a file deleted in web/ disappears from the copy too.
#   cmake -DSOURCE=<web> -DDEST=<build/web> -P sync_web_sources.cmake
cmake_minimum_required(VERSION 3.25)
foreach(dir src public test e2e)
  file(REMOVE_RECURSE "${DEST}/${dir}")
  if(EXISTS "${SOURCE}/${dir}")
    file(COPY "${SOURCE}/${dir}" DESTINATION "${DEST}")
  endif()
endforeach()
foreach(f index.html tsconfig.json vite.config.ts)
  file(COPY_FILE "${SOURCE}/${f}" "${DEST}/${f}" ONLY_IF_DIFFERENT)
endforeach()

# Turns the built web UI (a folder such as build/web/dist) into a C++ source with one string
# literal per file and the table of src/app/web_assets.hpp: path, content type, bytes, ETag.
#   cmake -DINPUT_DIR=<dist> -DOUTPUT=<file.cpp> -P embed_web_ui.cmake
# A file whose type is not known fails the build, so nothing is ever served with a guessed
# type. The output is rewritten only when its content changes (no needless recompiles).
cmake_minimum_required(VERSION 3.25)

if(NOT INPUT_DIR OR NOT OUTPUT)
  message(FATAL_ERROR "embed_web_ui.cmake: set INPUT_DIR and OUTPUT")
endif()
get_filename_component(INPUT_DIR "${INPUT_DIR}" ABSOLUTE)
if(NOT EXISTS "${INPUT_DIR}/index.html")
  message(FATAL_ERROR "embed_web_ui.cmake: ${INPUT_DIR}/index.html is missing; did the web build run?")
endif()

set(_types
  ".html=text/html\\; charset=utf-8"
  ".js=text/javascript\\; charset=utf-8"
  ".mjs=text/javascript\\; charset=utf-8"
  ".css=text/css\\; charset=utf-8"
  ".json=application/json"
  ".webmanifest=application/manifest+json"
  ".svg=image/svg+xml"
  ".png=image/png"
  ".ico=image/x-icon"
  ".woff2=font/woff2"
  ".txt=text/plain\\; charset=utf-8")

file(GLOB_RECURSE _files LIST_DIRECTORIES false RELATIVE "${INPUT_DIR}" "${INPUT_DIR}/*")
list(SORT _files)

# 64 bytes per source line.
string(REPEAT "." 256 _line)

set(_arrays "")
set(_table "")
set(_index 0)
foreach(_rel IN LISTS _files)
  string(REGEX MATCH "\\.[A-Za-z0-9]+$" _ext "${_rel}")
  string(TOLOWER "${_ext}" _ext)
  set(_type "")
  foreach(_pair IN LISTS _types)
    string(FIND "${_pair}" "=" _eq)
    string(SUBSTRING "${_pair}" 0 ${_eq} _e)
    if(_e STREQUAL _ext)
      math(EXPR _start "${_eq} + 1")
      string(SUBSTRING "${_pair}" ${_start} -1 _type)
    endif()
  endforeach()
  if(_type STREQUAL "")
    message(FATAL_ERROR "embed_web_ui.cmake: no content type for ${_rel}; add its extension here")
  endif()
  if(NOT _rel MATCHES "^[A-Za-z0-9._/-]+$")
    message(FATAL_ERROR "embed_web_ui.cmake: ${_rel}: UI file names may use only letters, digits, . _ - /")
  endif()

  file(READ "${INPUT_DIR}/${_rel}" _hex HEX)
  string(REGEX REPLACE "(${_line})" "\\1\"\n    \"" _hex "${_hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" _hex "${_hex}")
  file(SHA256 "${INPUT_DIR}/${_rel}" _sha)
  string(SUBSTRING "${_sha}" 0 32 _etag)

  string(APPEND _arrays "// ${_rel}\nconstexpr char k${_index}[] =\n    \"${_hex}\";\n")
  string(APPEND _table
         "    {\"/${_rel}\", \"${_type}\", {k${_index}, sizeof k${_index} - 1}, \"\\\"${_etag}\\\"\"},\n")
  math(EXPR _index "${_index} + 1")
endforeach()

set(_content "// Generated from the built web UI by cmake/embed_web_ui.cmake; do not edit.
#include \"app/web_assets.hpp\"

namespace lanspread::app {
namespace {

${_arrays}
constexpr StaticFile kFiles[] = {
${_table}};

}  // namespace

std::span<const StaticFile> embedded_web_files() { return kFiles; }

}  // namespace lanspread::app
")

if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" _old)
  if(_old STREQUAL _content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${_content}")

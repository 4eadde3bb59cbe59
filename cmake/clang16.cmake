# The project's compiler: clang-16 with libstdc++ and lld.
# g++ 12 miscompiles temporaries inside co_await expressions (see docs/architecture.md),
# so the choice is made here rather than left to the environment.
set(CMAKE_C_COMPILER clang-16)
set(CMAKE_CXX_COMPILER clang++-16)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld-16")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-fuse-ld=lld-16")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-fuse-ld=lld-16")

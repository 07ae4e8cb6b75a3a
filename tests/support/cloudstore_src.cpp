// cloudstore's non-template bodies, compiled once for every test executable.
#include <cloudstore/src.hpp>

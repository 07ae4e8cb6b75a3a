// Build knobs shared by every cloudstore header. Internal: include a public header instead.
#pragma once

// Header-only by default: non-template bodies in impl/*.ipp are `inline` and included by their
// header. Define CLOUDSTORE_SEPARATE_COMPILATION in every TU and include <cloudstore/src.hpp>
// in exactly one of them to compile those bodies once instead.
#ifdef CLOUDSTORE_SEPARATE_COMPILATION
#define CLOUDSTORE_DECL
#else
#define CLOUDSTORE_HEADER_ONLY 1
#define CLOUDSTORE_DECL inline
#endif

// x86 SIMD paths (SSE4.2 CRC32C, PCLMUL folding) are compiled with per-function target
// attributes and chosen at run time, so one binary serves every x86-64 CPU.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CLOUDSTORE_X86_SIMD 1
#define CLOUDSTORE_TARGET(features) __attribute__((target(features)))
#else
#define CLOUDSTORE_X86_SIMD 0
#define CLOUDSTORE_TARGET(features)
#endif

// With CLOUDSTORE_USE_ISAL (set by the CMake package when ISA-L is found), CRC32C and CRC32
// call Intel ISA-L; without it they use cloudstore's own paths and need no extra library.
#ifndef CLOUDSTORE_USE_ISAL
#define CLOUDSTORE_USE_ISAL 0
#endif

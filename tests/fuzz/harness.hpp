// HARNESS: a fuzz target's own code (input decoding, checks, fakes) is not what
// coverage should guide: no edge or comparison callbacks there (clang:
// no_sanitize("coverage")), which also keeps it at native speed (docs/fuzzing.md).
#pragma once

#define HARNESS [[clang::no_sanitize("coverage")]]

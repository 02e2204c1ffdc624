// fmt's implementation, compiled once for every tool that formats (vbhctl, vbh-vmm).
//
// Debian ships fmt as a shared library only (no libfmt.a) and both tools link -static,
// so fmt cannot come from the system's library. Used header-only (FMT_HEADER_ONLY),
// every source file would compile fmt's whole implementation again: 30 s a file with
// the sanitizers on, most of the hosted build's time. Instead every file includes fmt's
// declarations only, and this one file provides the definitions: without
// FMT_HEADER_ONLY, format-inl.h defines fmt's functions out of line (FMT_FUNC is empty),
// and the templates format.h declares `extern template` are instantiated below.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {
template auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;
}  // namespace detail
FMT_END_NAMESPACE

#include <vbh/frame_table.hpp>

namespace vbh {

Result<void> FrameTable::attach(void* storage, std::uint64_t storage_bytes, std::uint64_t frames) {
    auto addr = reinterpret_cast<std::uintptr_t>(storage);
    if (storage == nullptr || addr % alignof(FrameMeta) != 0)
        return unexpected(Status::invalid);
    if (frames > storage_bytes / bytes_per_frame)
        return unexpected(Status::no_memory);
    meta_ = static_cast<FrameMeta*>(storage);
    frames_ = frames;
    for (std::uint64_t i = 0; i < frames_; ++i)
        meta_[i] = FrameMeta{};
    return {};
}

Result<void> FrameTable::add_ram(FrameRange r) {
    if (r.end() > frames_)
        return unexpected(Status::range);
    for (std::uint64_t i = r.first.value; i < r.end(); ++i)
        if (meta_[i].owner() != Owner::none)
            return unexpected(Status::invalid); // overlapping RAM ranges
    for (std::uint64_t i = r.first.value; i < r.end(); ++i)
        meta_[i] = FrameMeta{Owner::host};
    return {};
}

Result<void> FrameTable::claim_hypervisor(FrameRange r) {
    if (Status s = check_ram(r); s != Status::ok)
        return unexpected(s);
    if (Status s = check(Transition::hyp_donate, r, host_domain); s != Status::ok)
        return unexpected(s);
    apply(Transition::hyp_donate, r, host_domain);
    return {};
}

Status FrameTable::check_ram(FrameRange r) const {
    if (r.end() > frames_)
        return Status::range;
    // The range is the host's: every index is masked (nospec.hpp), here and in
    // check() and apply(), which run while this bounds check may still be predicted.
    for (std::uint64_t i = r.first.value; i < r.end(); ++i)
        if (meta_[index_nospec(i, frames_)].owner() == Owner::none)
            return Status::range;
    return Status::ok;
}

Status FrameTable::check(Transition t, FrameRange r, DomainId dom) const {
    for (std::uint64_t i = r.first.value; i < r.end(); ++i)
        if (!accepts(t, meta_[index_nospec(i, frames_)], dom))
            return Status::state;
    return Status::ok;
}

void FrameTable::apply(Transition t, FrameRange r, DomainId dom) {
    for (std::uint64_t i = r.first.value; i < r.end(); ++i) {
        const std::uint64_t j = index_nospec(i, frames_);
        meta_[j] = after(t, meta_[j], dom);
    }
}

FrameRange FrameTable::next_run(Pfn from, FrameMeta m, std::uint64_t end) const {
    end = end < frames_ ? end : frames_;
    std::uint64_t i = from.value;
    while (i < end && !(meta_[i] == m))
        ++i;
    std::uint64_t first = i;
    while (i < end && meta_[i] == m)
        ++i;
    return FrameRange{Pfn{first}, i - first};
}

} // namespace vbh

#include "devices.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace vmm {

namespace {

std::uint32_t le32(std::span<const std::uint8_t> b) {
    std::uint32_t v = 0;
    std::memcpy(&v, b.data(), std::min<std::size_t>(b.size(), sizeof v));
    return v;
}

void put_le32(std::span<std::uint8_t> b, std::uint32_t v) {
    std::memset(b.data(), 0, b.size());
    std::memcpy(b.data(), &v, std::min<std::size_t>(b.size(), sizeof v));
}

} // namespace

bool MmioPage::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
    const std::uint64_t end = offset + out.size();
    if (offset == MMIO_ID && out.size() == 4) {
        put_le32(out, MMIO_ID_VALUE);
    } else if (offset == MMIO_WINDOW && out.size() == 4) {
        put_le32(out, index_);
    } else if (offset >= MMIO_SCRATCH && end <= MMIO_SCRATCH + scratch_.size()) {
        std::memcpy(out.data(), scratch_.data() + (offset - MMIO_SCRATCH), out.size());
    } else if (offset == MMIO_WRITES && out.size() == 4) {
        put_le32(out, writes_);
    } else {
        return false;
    }
    return true;
}

bool MmioPage::write(std::uint64_t offset, std::span<const std::uint8_t> in) {
    if (offset < MMIO_SCRATCH || offset + in.size() > MMIO_SCRATCH + scratch_.size())
        return false;
    std::memcpy(scratch_.data() + (offset - MMIO_SCRATCH), in.data(), in.size());
    ++writes_;
    return true;
}

void EchoPort::out(std::span<const std::uint8_t> in) { value_ = le32(in); }

void EchoPort::in(std::span<std::uint8_t> out) const { put_le32(out, ~value_); }

std::optional<std::uint64_t> Report::value64(unsigned id) const {
    if (!records[id] || !records[id + 1]) return std::nullopt;
    return std::uint64_t{*records[id]} | std::uint64_t{*records[id + 1]} << 32;
}

Devices::Devices(unsigned vcpus) : reports_(vcpus), echo_(vcpus) {
    for (std::uint32_t i = 0; i < vcpus; ++i) pages_.emplace_back(i);
}

Verdict Devices::port(unsigned vcpu, const PortIo& io) {
    const std::span<std::uint8_t> data{io.data, io.size};
    auto unexpected = [&] {
        return Verdict{Verdict::fault,
                       fmt::format("{} port {:#x}, {} byte(s) x {}: no such device or access",
                                   io.out ? "OUT to" : "IN from", io.port, io.size, io.count)};
    };
    if (io.count != 1) return unexpected();
    Report& r = reports_[vcpu];
    if (io.port >= PORT_RESULT && io.port < PORT_RESULT + R_COUNT && io.out && io.size == 4) {
        r.records[io.port - PORT_RESULT] = le32(data);
        return {};
    }
    switch (io.port) {
    case PORT_ECHO:
        if (io.out) echo_[vcpu].out(data);
        else echo_[vcpu].in(data);
        return {};
    case PORT_NULL:
        if (!io.out) return unexpected();
        return {};
    case PORT_SECRET_SYNC:
        if (!secret_ || !io.out || io.size != 4) return unexpected();
        return secret_->sync();
    case PORT_STOP:
        if (!io.out || io.size != 4) return unexpected();
        r.stop = le32(data);
        return {Verdict::stop, {}};
    default:
        return unexpected();
    }
}

Verdict Devices::mmio(unsigned /*vcpu*/, const MmioAccess& a) {
    const std::uint64_t page = (a.gpa - MMIO_BASE) / MMIO_STRIDE;
    const std::uint64_t offset = (a.gpa - MMIO_BASE) % MMIO_STRIDE;
    bool ok = false;
    if (a.gpa >= MMIO_BASE && page < pages_.size() && a.len >= 1 && a.len <= 8) {
        std::lock_guard lock{mmio_lock_};
        ok = a.write ? pages_[page].write(offset, {a.data, a.len})
                     : pages_[page].read(offset, {a.data, a.len});
    }
    if (ok) return {};
    return {Verdict::fault, fmt::format("MMIO {} of {} byte(s) at {:#x}: no such register",
                                        a.write ? "write" : "read", a.len, a.gpa)};
}

Verdict Devices::hypercall(unsigned /*vcpu*/, const Hypercall& call) {
    // KVM exits to user space only for the calls KVM_CAP_EXIT_HYPERCALL enabled, which
    // the VMM does only for the secret stage's KVM_HC_MAP_GPA_RANGE.
    if (!secret_ || call.nr != HC_MAP_GPA_RANGE)
        return {Verdict::fault, fmt::format("hypercall {}: not enabled", call.nr)};
    return secret_->map_gpa_range(call);
}

} // namespace vmm

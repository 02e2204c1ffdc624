// The devices vbh-vmm emulates for its payload (payload_abi.h): the result channel
// (PORT_RESULT + id), the echo port, the null port, the stop port and the MMIO window
// of one page per vCPU. What each vCPU reported is kept per vCPU for checks.cpp.
#pragma once

#include "exit_loop.hpp"
#include "payload_abi.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace vmm {

// One page of the MMIO window: ID and WINDOW read-only, 8 bytes of scratch that take
// any access size at any offset inside them, and a count of writes.
class MmioPage {
public:
    explicit MmioPage(std::uint32_t index) : index_{index} {}
    // false: the access is outside the registers or straddles one.
    bool read(std::uint64_t offset, std::span<std::uint8_t> out) const;
    bool write(std::uint64_t offset, std::span<const std::uint8_t> in);

private:
    std::uint32_t index_;
    std::array<std::uint8_t, 8> scratch_{};
    std::uint32_t writes_ = 0;
};

// The echo port: OUT stores the value (of the access's size), IN returns its bitwise
// complement in the access's size.
class EchoPort {
public:
    void out(std::span<const std::uint8_t> in);
    void in(std::span<std::uint8_t> out) const;

private:
    std::uint32_t value_ = 0;
};

// The VMM's side of the secret stage (secret.hpp): Devices hands it the stage's exits.
class SecretHost {
public:
    virtual ~SecretHost() = default;
    // KVM_HC_MAP_GPA_RANGE: the answer goes to *call.ret.
    virtual Verdict map_gpa_range(const Hypercall& call) = 0;
    // The guest reached PORT_SECRET_SYNC: returns once the host's attacks may be over.
    virtual Verdict sync() = 0;
};

// What one vCPU reported: result records by id and how it stopped.
struct Report {
    std::array<std::optional<std::uint32_t>, R_COUNT> records;
    std::optional<std::uint32_t> stop;   // STOP_* once the vCPU wrote PORT_STOP
    std::optional<std::uint64_t> value64(unsigned id) const;
};

class Devices : public ExitHandler {
public:
    explicit Devices(unsigned vcpus);
    Verdict port(unsigned vcpu, const PortIo& io) override;
    Verdict mmio(unsigned vcpu, const MmioAccess& access) override;
    Verdict hypercall(unsigned vcpu, const Hypercall& call) override;
    // The secret stage's host (none: its port and hypercall are no device).
    void attach(SecretHost* secret) { secret_ = secret; }
    // Read after the vCPU threads are joined.
    const Report& report(unsigned vcpu) const { return reports_[vcpu]; }

private:
    std::vector<Report> reports_;      // each written only by its vCPU's thread
    std::vector<EchoPort> echo_;       // likewise
    std::mutex mmio_lock_;             // any vCPU may touch any page
    std::vector<MmioPage> pages_;
    SecretHost* secret_ = nullptr;
};

} // namespace vmm

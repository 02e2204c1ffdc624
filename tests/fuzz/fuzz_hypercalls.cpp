// libFuzzer target: arbitrary sequences of hypercalls (any number, any registers, ring
// 0 or 3, argument lists the "host" writes into its own frames, page-table pool
// stolen and returned) against the core driving the real NPT engine. After every call:
//   - the host table is exactly what the ownership map says (no frame mapped for the
//     host while hypervisor-owned or private; every host/shared frame mapped 1:1);
//   - per-domain counters match the map;
//   - a call that failed changed nothing (ownership, domains, table leaves);
//   - frames a reclaim or destroy handed back read as zero (the harness writes a
//     secret into every frame a domain receives).
#include "byte_reader.hpp"
#include "npt_machine.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

using namespace vbh;
using vbh::fuzz::ByteReader;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "invariant broken: %s %s\n", what, detail.c_str());
    std::abort();
}

constexpr std::uint64_t mib = 1ull << 20;
constexpr std::uint64_t top = 16 * mib >> frame_shift; // 4096 frames

// Frame memory for the fuzzer's 16 MiB machine: one static buffer reused by every run;
// a new run zeroes only the frames the previous one handed out (allocating per run
// costs more than the calls).
class FuzzMemory {
public:
    FuzzMemory() {
        for (std::uint64_t p = 0; p < top; ++p)
            if (dirty_[p]) {
                std::memset(buf_ + p * words_per_frame, 0, frame_bytes);
                dirty_[p] = false;
            }
    }
    std::uint64_t* words(Pfn p) {
        if (p.value >= top)
            fail("frame memory access beyond the machine", std::to_string(p.value));
        dirty_[p.value] = true;
        return buf_ + p.value * words_per_frame;
    }

private:
    static inline std::uint64_t buf_[top * words_per_frame];
    static inline bool dirty_[top];
};

using Machine = test::NptMachine<40, FuzzMemory>;

struct State {
    std::vector<std::uint16_t> meta;
    DomainTable domains;
    std::vector<ept::Leaf> leaves;
    bool operator==(const State&) const = default;
};

State capture(const Machine& m) { return {m.meta, m.core->domains(), m.leaves()}; }

// Recently used values: sequences that reuse them (donate X, fill X, reclaim X) are
// what reach deep states; uniform picks rarely line up.
struct Recent {
    std::uint64_t pfn = 2048;
    std::uint64_t dom = 1;
} recent;

std::uint64_t pick_pfn(ByteReader& in) {
    static constexpr std::uint64_t edges[] = {0, 255, 256, 271, 272, 511, 512, 1023, 1024,
                                              1535, 1536, 2047, 2048, 4095, 4096, 1ull << 40};
    switch (in.u8() % 8) {
    case 5: return edges[in.u8() % 16];
    case 6: return in.u64();
    case 7: return 256 + in.u8() % 16; // hypervisor memory
    case 4:
    case 3: return recent.pfn + in.u8() % 4;
    default: return recent.pfn = in.u16() % (top + 64);
    }
}

std::uint64_t pick_count(ByteReader& in) {
    switch (in.u8() % 8) {
    case 0: return 0;
    case 1: return in.u16() % 1100;
    case 2: return 512;
    case 3: return in.u64();
    default: return 1 + in.u8() % 8;
    }
}

std::uint64_t pick_dom(ByteReader& in) {
    std::uint8_t b = in.u8();
    return b < 128 ? recent.dom : b < 240 ? b % 6 : in.u64();
}

// The host writes a donate_list array into a frame, if the frame is its to write.
std::uint64_t write_list(Machine& m, ByteReader& in, std::uint64_t& entries) {
    Pfn frame{pick_pfn(in) % top};
    std::uint64_t offset = (in.u8() % 256) * 16 + (in.u8() % 16 == 0 ? 8 : 0);
    entries = in.u8() % 16 == 0 ? in.u64() : 1 + in.u8() % 6;
    if (m.core->frames().at(frame).host_mapped()) {
        std::uint64_t* w = m.mem.words(frame);
        for (std::uint64_t i = 0; i < entries && i < 8 && offset / 8 + 2 * i + 1 < words_per_frame; ++i) {
            w[offset / 8 + 2 * i] = pick_pfn(in);
            w[offset / 8 + 2 * i + 1] = pick_count(in);
        }
    }
    return frame.phys() + offset;
}

HypercallRegs next_call(Machine& m, ByteReader& in) {
    static constexpr std::uint64_t calls[] = {
        VBH_HC_VERSION, VBH_HC_DOMAIN_CREATE, VBH_HC_DOMAIN_DESTROY, VBH_HC_HOST_SHARE,
        VBH_HC_HOST_UNSHARE, VBH_HC_HOST_DONATE, VBH_HC_HOST_RECLAIM, VBH_HC_HYP_DONATE,
        VBH_HC_HOST_DONATE_LIST, VBH_HC_TEST_FILL, VBH_HC_TEST_HASH, VBH_HC_HOST_DONATE,
        VBH_HC_HOST_RECLAIM, VBH_HC_HOST_SHARE, VBH_HC_STATS_READ, 0x77};
    std::uint64_t nr = calls[in.u8() % 16];
    HypercallRegs r{nr, 0, 0, 0, 0};
    if (nr == VBH_HC_DOMAIN_CREATE) {
        r.rdi = in.u8() % 8 == 0 ? in.u64() : in.u8() % 2;
    } else if (nr == VBH_HC_DOMAIN_DESTROY) {
        r.rdi = pick_dom(in);
    } else if (nr == VBH_HC_TEST_FILL || nr == VBH_HC_TEST_HASH) {
        r = {nr, pick_dom(in), pick_pfn(in), pick_count(in), in.u64()};
    } else if (nr == VBH_HC_HOST_DONATE_LIST) {
        r.rdi = write_list(m, in, r.rsi);
        r.rdx = pick_dom(in);
    } else {
        r = {nr, pick_pfn(in), pick_count(in), pick_dom(in), 0};
    }
    return r;
}

void check_counters(const Machine& m) {
    std::uint64_t owned[VBH_MAX_DOMAINS] = {}, lent[VBH_MAX_DOMAINS] = {};
    for (std::uint64_t p = 0; p < top; ++p) {
        FrameMeta f = m.core->frames().at(Pfn{p});
        if (f.owner() == Owner::domain)
            ++owned[f.domain().value];
        if (f.owner() == Owner::shared)
            ++lent[f.domain().value];
    }
    for (std::uint16_t d = 0; d < VBH_MAX_DOMAINS; ++d) {
        const Domain& dom = m.core->domains()[DomainId{d}];
        if (dom.owned != owned[d] || dom.borrowed != lent[d])
            fail("domain counters", std::to_string(d));
        if (!dom.live && (owned[d] || lent[d]))
            fail("frames of a dead domain", std::to_string(d));
    }
}

// Frames that just went from a domain to the host must read as zero.
void check_scrubbed(Machine& m, const State& before) {
    for (std::uint64_t p = 0; p < top; ++p) {
        FrameMeta was = FrameMeta::from_raw(before.meta[p]);
        if (was.owner() != Owner::domain || m.core->frames().at(Pfn{p}).owner() != Owner::host)
            continue;
        const std::uint64_t* w = m.mem.words(Pfn{p});
        for (std::uint64_t k = 0; k < words_per_frame; ++k)
            if (w[k] != 0)
                fail("unscrubbed frame", std::to_string(p));
    }
}

// A domain writes its secrets into frames it has just been given.
void plant_secrets(Machine& m, const State& before) {
    for (std::uint64_t p = 0; p < top; ++p) {
        if (FrameMeta::from_raw(before.meta[p]).owner() == Owner::domain ||
            m.core->frames().at(Pfn{p}).owner() != Owner::domain)
            continue;
        std::uint64_t* w = m.mem.words(Pfn{p});
        w[0] = w[words_per_frame - 1] = 0x5ec2e7000000ull | p;
    }
}

void steal_or_return(Machine& m, ByteReader& in, std::vector<std::uint64_t>& stolen) {
    if (in.u8() % 2 == 0 && !stolen.empty()) {
        m.pool->free(stolen.back());
        stolen.pop_back();
    } else if (auto f = m.pool->alloc()) {
        stolen.push_back(*f);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::vector<vbh_mem_range> ram = {{0, 4 * mib}, {6 * mib, 10 * mib}};
    static const std::vector<vbh_mem_range> hyp = {{mib, 64 * 1024}};
    // One pool for every run, rebuilt in place: allocating it per input costs more
    // (page faults) than the calls themselves.
    alignas(Machine::Pool) static unsigned char pool_bytes[sizeof(Machine::Pool)];
    Machine m{ram, hyp, new (pool_bytes) Machine::Pool(0)};
    if (!m.init_ok || m.top != top)
        fail("machine set-up");
    ByteReader in{data, size};
    std::vector<std::uint64_t> stolen;
    recent = Recent{};
    State before = capture(m);
    for (int calls = 0; !in.empty() && calls < 64; ++calls) {
        std::uint8_t kind = in.u8();
        if (kind % 16 == 0) {
            steal_or_return(m, in, stolen);
            continue;
        }
        HypercallRegs regs = next_call(m, in);
        std::uint8_t cpl = kind % 16 == 1 ? 3 : 0;
        HypercallOut out = m.core->dispatch(regs, Cpl{cpl});
        if (regs.rax == VBH_HC_DOMAIN_CREATE && out.status == Status::ok)
            recent.dom = out.out0;
        State after = capture(m);
        if (out.status != Status::ok && !(after == before))
            fail("failed call changed state", to_string(out.status));
        if (cpl != 0 && out.status != Status::denied)
            fail("ring 3 call not denied");
        if (std::string bad = m.mismatch(after.leaves); !bad.empty())
            fail("host table differs from ownership map:", bad);
        check_counters(m);
        check_scrubbed(m, before);
        plant_secrets(m, before);
        before = std::move(after);
    }
    return 0;
}

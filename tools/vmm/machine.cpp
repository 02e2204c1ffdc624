#include "machine.hpp"

#include "memory.hpp"
#include "secret_checks.hpp"
#include "touch.hpp"
#include "vcpu_setup.hpp"

#include "kvm_private.hpp"

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <iterator>
#include <fmt/format.h>
#include <mutex>
#include <pthread.h>
#include <sys/random.h>
#include <thread>

// payload_blob.S: payload.bin, assembled and flattened by the build.
extern "C" const std::uint8_t vmm_payload_start[], vmm_payload_end[];

namespace vmm {

namespace {

constexpr const char* stage_names[] = {"start",  "cpuid",  "pio",  "mmio",  "timer",
                                       "rendezvous", "bench", "secret", "done", "touch"};
static_assert(std::size(stage_names) == STAGE_TOUCH + 1);

// KVM_RUN returns EINTR when its thread takes a signal; the handler does nothing else.
void on_kick(int) {}

Result<void> install_kick() {
    struct sigaction sa{};
    sa.sa_handler = on_kick;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, nullptr) != 0) return errno_error("sigaction", errno);
    return {};
}

// How far vCPU i got, from its per-vCPU variables in guest RAM.
std::string progress(const GuestRam& ram, unsigned i) {
    const auto stage = ram.load(percpu_vars(i) + PC_STAGE, 4);
    return fmt::format("stage {} ({}), {} timer ticks, {} HLT wake-ups",
                       stage, stage < std::size(stage_names) ? stage_names[stage] : "?",
                       ram.load(percpu_vars(i) + PC_TICKS, 8),
                       ram.load(percpu_vars(i) + PC_HLTS, 8));
}

struct Vcpus {
    std::vector<Vcpu> vcpus;
    std::vector<LoopEnd> ends;
};

// Runs every vCPU on its own thread until all stopped, one failed, or the timeout; then
// the rest are kicked out of KVM_RUN and their LoopEnd says "cancelled".
void run_all(Vcpus& v, Devices& devices, unsigned timeout_s) {
    std::atomic<const char*> cancel{nullptr};
    std::mutex m;
    std::condition_variable cv;
    unsigned done = 0;
    bool failed = false;  // a vCPU ended without stopping: the others cannot finish
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < v.vcpus.size(); ++i)
        threads.emplace_back([&, i] {
            LoopEnd end = run_vcpu(v.vcpus[i], devices, cancel);
            std::lock_guard lock{m};
            failed |= !end.stopped;
            v.ends[i] = std::move(end);
            ++done;
            cv.notify_one();
        });
    std::unique_lock lock{m};
    cv.wait_for(lock, std::chrono::seconds{timeout_s},
                [&] { return done == threads.size() || failed; });
    if (done != threads.size()) {
        cancel = failed ? "another vCPU failed" : "timeout";
        for (std::size_t i = 0; i < threads.size(); ++i) {
            cancel_run(v.vcpus[i]);
            pthread_kill(threads[i].native_handle(), SIGUSR1);
        }
    }
    lock.unlock();
    for (auto& t : threads) t.join();
}

// The vCPUs, created and set up for 64-bit entry at the payload.
Result<Vcpus> create_vcpus(Vm& vm, const Kvm& kvm, unsigned n, std::uint64_t cr3) {
    auto supported = kvm.supported_cpuid();
    if (!supported) return supported.error();
    Vcpus v;
    for (unsigned i = 0; i < n; ++i) {
        auto vcpu = vm.create_vcpu(i);
        if (!vcpu) return vcpu.error();
        if (auto r = setup_vcpu(*vcpu, *supported, cr3); !r)
            return Error{fmt::format("vcpu{}: {}", i, r.error().message)};
        v.vcpus.push_back(std::move(*vcpu));
    }
    v.ends.resize(n);
    return v;
}

// A random seed for the secret: the VMM does not choose the secret, only its seed,
// which it prints for whoever looks for the secret.
Result<std::uint64_t> random_seed() {
    std::uint64_t seed = 0;
    while (!usable_seed(seed)) {
        if (::getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed))
            return errno_error("getrandom", errno);
    }
    return seed;
}

// The VM of the run's kind: a protected VM only if KVM offers the type.
Result<Vm> create_vm(const Kvm& kvm, const Options& o) {
    const bool protected_vm = o.secret == Options::Secret::protected_vm;
    if (protected_vm) {
        if (auto r = require_protected(kvm); !r) return r.error();
    }
    return Vm::create(kvm, protected_vm ? uapi::x86_sw_protected_vm : 0);
}

// The checks, metrics and failures of a finished run.
Outcome collect(const Expect& expect, const Vcpus& v, const Devices& devices,
                const GuestRam& ram) {
    Outcome out;
    out.info.push_back(fmt::format("tsc_khz={} payload_bytes={}", expect.tsc_khz,
                                   vmm_payload_end - vmm_payload_start));
    for (unsigned i = 0; i < expect.vcpus; ++i) {
        const LoopEnd& end = v.ends[i];
        if (!end.stopped)
            out.failures.push_back(fmt::format("{} ({})", end.why, progress(ram, i)));
        const std::string calls =
            end.hypercalls ? fmt::format(" hypercalls={}", end.hypercalls) : "";
        out.info.push_back(fmt::format("vcpu{} io_exits={} mmio_exits={} interrupted={}{}", i,
                                       end.io_exits, end.mmio_exits, end.interrupted, calls));
        auto c = judge(expect, i, devices.report(i));
        out.checks.insert(out.checks.end(), c.begin(), c.end());
        auto m = metrics(expect, i, devices.report(i));
        out.metrics.insert(out.metrics.end(), m.begin(), m.end());
    }
    return out;
}

} // namespace

Result<Outcome> run_machine(const Options& o) {
    if (auto r = install_kick(); !r) return r.error();
    auto kvm = Kvm::open();
    if (!kvm) return kvm.error();
    std::uint64_t seed = 0;
    if (o.secret != Options::Secret::none) {
        auto s = o.seed ? Result<std::uint64_t>{*o.seed} : random_seed();
        if (!s) return s.error();
        seed = *s;
    }
    auto created = create_vm(*kvm, o);
    if (!created) return created.error();
    Vm& vm = *created;  // stays here: the secret region keeps a reference to it
    std::unique_ptr<SecretRegion> secret;
    if (o.secret != Options::Secret::none) {
        auto s = SecretRegion::create(vm, SecretOptions{o.secret == Options::Secret::protected_vm,
                                                        seed, o.hold_s, o.hold_file, o.scribble,
                                                        o.ready_file, o.redirect,
                                                        o.rewrite_code});
        if (!s) return s.error();
        secret = std::move(*s);
    }
    const TouchOptions touch_o{o.secret == Options::Secret::protected_vm, o.touch_pages,
                               o.touch_cpu_iters};
    std::unique_ptr<TouchRegion> touch;
    if (o.touch_pages) {
        auto t = TouchRegion::create(vm, touch_o);
        if (!t) return t.error();
        touch = std::move(*t);
    }
    if (auto r = vm.create_irqchip(); !r) return r.error();
    auto ram = GuestRam::create(vm, VMM_RAM_SIZE);
    if (!ram) return ram.error();

    // KVM's LAPIC timer counts at 1 GHz (one bus cycle per ns), so with divide-by-1 the
    // initial count is the period in ns.
    const BootParams params{o.vcpus, o.ticks, o.period_us * 1000, o.iterations, 0,
                            secret != nullptr, seed, o.touch_pages,
                            o.touch_pages ? o.touch_cpu_iters : 0,
                            o.secret == Options::Secret::protected_vm && !o.shared_code};
    auto cr3 = write_image(ram->bytes(), {vmm_payload_start, vmm_payload_end}, params);
    if (!cr3) return cr3.error();
    auto v = create_vcpus(vm, *kvm, o.vcpus, *cr3);
    if (!v) return v.error();
    auto khz = v->vcpus[0].tsc_khz();
    if (!khz) return khz.error();

    Devices devices{o.vcpus};
    devices.attach(secret.get());
    if (secret) secret->attach(&v->vcpus[0], ram->bytes());
    // The hold at the sync point is the attacks' time, not the guest's.
    run_all(*v, devices, o.timeout_s + (secret ? o.hold_s : 0));
    const Expect expect{o.vcpus, o.ticks, std::uint64_t{o.period_us} * 1000, *khz,
                        o.iterations, params.bench_vcpu};
    Outcome out = collect(expect, *v, devices, *ram);
    if (secret) {
        auto c = judge_secret(seed, devices.report(0), secret->tally());
        out.checks.insert(out.checks.end(), c.begin(), c.end());
        // Whatever the vCPU did (a refused VMRUN stops it): what reached shared RAM.
        if (o.redirect) out.info.push_back(fmt::format("redirect_exfil_qwords={}",
                                                       secret->exfiltrated()));
        if (o.rewrite_code) out.info.push_back(fmt::format("rewrite_exfil_qwords={}",
                                                           secret->exfiltrated()));
    }
    if (touch) {
        auto c = judge_touch(touch_o, devices.report(0));
        out.checks.insert(out.checks.end(), c.begin(), c.end());
        auto m = touch_metrics(touch_o, *khz, devices.report(0));
        out.metrics.insert(out.metrics.end(), m.begin(), m.end());
    }
    return out;
}

} // namespace vmm

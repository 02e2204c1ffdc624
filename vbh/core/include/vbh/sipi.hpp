// Virtual INIT and SIPI for one CPU (docs/launch.md, "INIT and SIPI"). The hypervisor
// never lets a real INIT reach a CPU it runs (apic_write.hpp): another CPU's emulated
// ICR write posts INIT or SIPI here and kicks this CPU with an NMI. At that NMI exit
// this CPU takes the INIT: its guest state becomes the architectural INIT state and it
// waits in the hypervisor (wait-for-SIPI) until a SIPI is posted, then enters the guest
// in real mode at the vector's page, under the host NPT like before. So the code at a
// SIPI vector never runs outside guest mode.
//
// As on the CPU (SDM vol. 3 §9.4.4, APM vol. 2 §16.5): a SIPI counts only after an
// INIT, the first one starts the CPU and later ones are ignored; an INIT in any state
// starts over. A SIPI posted after the INIT but before the CPU took it is kept: Linux
// sends INIT and SIPI back to back, and the kick NMI may arrive after both.
//
// Writers: any CPU (post_init, post_sipi) and the CPU itself (take_init, take_sipi);
// one 32-bit word changed by compare-and-swap, so every transition is atomic.
#pragma once

#include <cstdint>

namespace vbh {

class SipiSlot {
public:
    enum class State : std::uint32_t { running = 0, init = 1, waiting = 2 };

    // INIT: in any state, start over (a SIPI recorded before it is dropped).
    void post_init() { __atomic_store_n(&word_, pack(State::init, no_vector), __ATOMIC_SEQ_CST); }

    // SIPI: recorded if an INIT came first and no SIPI since; else ignored (false).
    bool post_sipi(std::uint8_t vector) {
        std::uint32_t w = __atomic_load_n(&word_, __ATOMIC_SEQ_CST);
        for (;;) {
            if (state(w) == State::running || (w & vector_valid) != 0)
                return false;
            if (__atomic_compare_exchange_n(&word_, &w, w | vector_valid | vector, false,
                                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                return true;
        }
    }

    // This CPU's check at an NMI exit: an INIT is waiting to be taken.
    bool init_posted() const { return state(__atomic_load_n(&word_, __ATOMIC_SEQ_CST)) == State::init; }

    // This CPU reset its guest state for the INIT: init -> waiting, a SIPI already
    // posted kept. False if the slot was not in init (nothing to take).
    bool take_init() {
        std::uint32_t w = __atomic_load_n(&word_, __ATOMIC_SEQ_CST);
        for (;;) {
            if (state(w) != State::init)
                return false;
            const std::uint32_t next = pack(State::waiting, w & vector_bits);
            if (__atomic_compare_exchange_n(&word_, &w, next, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                return true;
        }
    }

    // This CPU, waiting: a SIPI is there -> running, its vector returned (0..255);
    // -1 if none yet or if a new INIT came (init_posted() then says so).
    int take_sipi() {
        std::uint32_t w = __atomic_load_n(&word_, __ATOMIC_SEQ_CST);
        if (state(w) != State::waiting || (w & vector_valid) == 0)
            return -1;
        if (!__atomic_compare_exchange_n(&word_, &w, pack(State::running, no_vector), false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return -1; // a new INIT: the caller starts over
        return int(w & 0xff);
    }

    State state() const { return state(__atomic_load_n(&word_, __ATOMIC_SEQ_CST)); }
    // A launch starts the CPU running, whatever an earlier life left.
    void reset() { __atomic_store_n(&word_, pack(State::running, no_vector), __ATOMIC_SEQ_CST); }

private:
    static constexpr std::uint32_t vector_valid = 1u << 8;
    static constexpr std::uint32_t vector_bits = vector_valid | 0xffu;
    static constexpr std::uint32_t no_vector = 0;
    static constexpr std::uint32_t pack(State s, std::uint32_t v) { return std::uint32_t(s) << 9 | v; }
    static constexpr State state(std::uint32_t w) { return State(w >> 9); }

    std::uint32_t word_ = 0;
};

} // namespace vbh

#include "options.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace vmm {
namespace {

ParsedArgs parse(std::vector<const char*> args) {
    args.insert(args.begin(), "vbh-vmm");
    return parse_args(static_cast<int>(args.size()), args.data());
}

TEST(Options, DefaultsRunNoSecretStage) {
    const auto p = parse({});
    ASSERT_TRUE(p.options);
    EXPECT_EQ(p.options->vcpus, 2u);
    EXPECT_EQ(p.options->iterations, 1000u);
    EXPECT_EQ(p.options->secret, Options::Secret::none);
    EXPECT_FALSE(p.options->seed);
    EXPECT_EQ(p.options->hold_s, 0u);
}

TEST(Options, Protected) {
    auto p = parse({"--protected", "--seed", "0x1234", "--hold-secs", "5", "--vcpus", "1"});
    ASSERT_TRUE(p.options);
    EXPECT_EQ(p.options->secret, Options::Secret::protected_vm);
    EXPECT_EQ(p.options->seed, 0x1234u);
    EXPECT_EQ(p.options->hold_s, 5u);
    EXPECT_EQ(p.options->vcpus, 1u);
    EXPECT_FALSE(p.options->scribble);
    EXPECT_FALSE(p.options->redirect);
    p = parse({"--unprotected", "--scribble", "--hold-file", "/tmp/go", "--redirect"});
    ASSERT_TRUE(p.options);
    EXPECT_EQ(p.options->secret, Options::Secret::unprotected);
    EXPECT_TRUE(p.options->scribble);
    EXPECT_TRUE(p.options->redirect);
    EXPECT_EQ(p.options->hold_file, "/tmp/go");
    EXPECT_EQ(p.options->hold_s, 120u);  // a file alone still has a bound
    p = parse({"--protected", "--seed", "42"});
    ASSERT_TRUE(p.options);
    EXPECT_EQ(p.options->seed, 42u);
    EXPECT_FALSE(p.options->shared_code);  // a protected VM runs its secret stage privately
    EXPECT_FALSE(p.options->rewrite_code);
    p = parse({"--protected", "--shared-code", "--rewrite-code"});
    ASSERT_TRUE(p.options);
    EXPECT_TRUE(p.options->shared_code);
    EXPECT_TRUE(p.options->rewrite_code);
    p = parse({"--unprotected", "--rewrite-code"});
    ASSERT_TRUE(p.options);
    EXPECT_TRUE(p.options->rewrite_code);
}

TEST(Options, UsageErrorsExitTwo) {
    for (const auto& args : std::vector<std::vector<const char*>>{
             {"--protected", "--unprotected"},
             {"--scribble"},                       // no secret stage to scribble on
             {"--redirect"},
             {"--rewrite-code"},
             {"--shared-code"},                    // only a protected VM has private code
             {"--unprotected", "--shared-code"},
             {"--protected", "--redirect", "--rewrite-code"},
             {"--seed", "5"},
             {"--hold-secs", "3"},
             {"--protected", "--seed", "0"},       // xorshift's fixed point
             {"--protected", "--seed", "0x5348415245445F5F"},
             {"--protected", "--seed", "12abc"},
             {"--protected", "--hold-secs", "99999"},
             {"--vcpus", "9"},
             {"--frobnicate"}}) {
        const auto p = parse(args);
        EXPECT_FALSE(p.options) << args[0];
        EXPECT_EQ(p.exit_code, 2) << args[0];
    }
}

} // namespace
} // namespace vmm

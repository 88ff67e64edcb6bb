// Theater: a WebAssembly actor runtime.
//
// Tests of the random handler without wasm: its factory and config validation, and the
// RandomSource generators and request checks its host functions are built from.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "handlers/random/random_handler.h"
#include "handlers/random/random_source.h"

namespace theater::handlers {
namespace {

std::vector<uint8_t> Draw(RandomSource& source, size_t n) {
  std::vector<uint8_t> out(n);
  EXPECT_TRUE(source.Fill(out).ok());
  return out;
}

std::unique_ptr<RandomSource> SeededOrDie(uint64_t seed, std::string_view actor_id) {
  auto source = RandomSource::Seeded(seed, actor_id);
  EXPECT_TRUE(source.ok()) << source.status().ToString();
  return std::move(source).value();
}

Result<std::unique_ptr<Handler>> Create(nlohmann::json config) {
  HandlerConfig handler_config;
  handler_config.type = "random";
  handler_config.config = std::move(config);
  return NewRandomHandler()->CreateInstance(handler_config);
}

EffectivePermissions WithRandom(RandomPermissions random) {
  EffectivePermissions perms;
  perms.Set(kRandomHandler, std::make_shared<const PermissionOf<RandomPermissions>>(random));
  return perms;
}

TEST(RandomHandlerTest, PrototypeNamesItsInterface) {
  auto handler = NewRandomHandler();
  EXPECT_EQ(handler->name(), "random");
  EXPECT_EQ(handler->imports(), "theater:simple/random");
  EXPECT_EQ(handler->exports(), std::nullopt);
}

TEST(RandomHandlerTest, CreateInstanceAcceptsValidConfigs) {
  EXPECT_TRUE(Create(nlohmann::json::object()).ok());
  EXPECT_TRUE(
      Create({{"seed", 42}, {"max_bytes", 1024}, {"max_int", 100}, {"allow_crypto_secure", false}})
          .ok());
  // TOML integers arrive as signed JSON numbers.
  EXPECT_TRUE(Create({{"seed", int64_t{7}}}).ok());
}

TEST(RandomHandlerTest, CreateInstanceRejectsBadConfigs) {
  auto unknown = Create({{"sed", 1}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'sed'"), std::string::npos);

  for (const char* key : {"seed", "max_bytes", "max_int"}) {
    auto wrong = Create({{key, "12"}});
    ASSERT_FALSE(wrong.ok()) << key;
    EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(wrong.status().message().find(key), std::string::npos);
    auto negative = Create({{key, -1}});
    ASSERT_FALSE(negative.ok()) << key;
    EXPECT_NE(negative.status().message().find(key), std::string::npos);
    EXPECT_FALSE(Create({{key, 1.5}}).ok()) << key;
  }
  auto not_bool = Create({{"allow_crypto_secure", 1}});
  ASSERT_FALSE(not_bool.ok());
  EXPECT_NE(not_bool.status().message().find("allow_crypto_secure"), std::string::npos);
}

TEST(RandomConfigTest, ParsesEveryKey) {
  auto config = ParseRandomConfig(
      {{"seed", 42}, {"max_bytes", 10}, {"max_int", 1000}, {"allow_crypto_secure", false}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->seed, 42u);
  EXPECT_EQ(config->limits.max_bytes, 10u);
  EXPECT_EQ(config->limits.max_int, 1000u);
  EXPECT_FALSE(config->limits.allow_crypto_secure);

  auto defaults = ParseRandomConfig(nlohmann::json::object());
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->seed, std::nullopt);
  EXPECT_EQ(defaults->limits, RandomPermissions{});
}

TEST(RandomSourceTest, SameSeedAndActorGiveTheSameSequence) {
  auto a = SeededOrDie(42, "actor-1");
  auto b = SeededOrDie(42, "actor-1");
  EXPECT_EQ(Draw(*a, 100), Draw(*b, 100));
  // The stream continues across calls of different sizes the same way.
  EXPECT_EQ(Draw(*a, 7), Draw(*b, 7));
  EXPECT_EQ(*a->Range(0, 1000), *b->Range(0, 1000));
  EXPECT_EQ(*a->Float(), *b->Float());
  EXPECT_EQ(*a->Uuid(), *b->Uuid());
}

TEST(RandomSourceTest, StreamIsIndependentOfChunking) {
  auto whole = SeededOrDie(5, "actor");
  auto pieces = SeededOrDie(5, "actor");
  std::vector<uint8_t> expected = Draw(*whole, 100);
  std::vector<uint8_t> got = Draw(*pieces, 33);
  for (uint8_t b : Draw(*pieces, 67)) got.push_back(b);
  EXPECT_EQ(got, expected);
}

TEST(RandomSourceTest, SameSeedDifferentActorsDiffer) {
  auto a = SeededOrDie(42, "actor-1");
  auto b = SeededOrDie(42, "actor-2");
  EXPECT_NE(Draw(*a, 32), Draw(*b, 32));
}

TEST(RandomSourceTest, DifferentSeedsSameActorDiffer) {
  auto a = SeededOrDie(1, "actor-1");
  auto b = SeededOrDie(2, "actor-1");
  EXPECT_NE(Draw(*a, 32), Draw(*b, 32));
}

TEST(RandomSourceTest, UnseededGeneratorsDiffer) {
  auto a = RandomSource::OsEntropy();
  auto b = RandomSource::OsEntropy();
  EXPECT_NE(Draw(*a, 32), Draw(*b, 32));
  auto c = RandomSource::KeyedFromOsEntropy();
  auto d = RandomSource::KeyedFromOsEntropy();
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_NE(Draw(**c, 32), Draw(**d, 32));
}

TEST(RandomSourceTest, SeededOutputIsNotDegenerate) {
  auto source = SeededOrDie(0, "");
  std::vector<uint8_t> bytes = Draw(*source, 4096);
  std::set<uint8_t> distinct(bytes.begin(), bytes.end());
  EXPECT_GT(distinct.size(), 200u);  // all-zero or short-period output would fail this
}

TEST(RandomSourceTest, RangeStaysWithinBounds) {
  auto source = SeededOrDie(9, "actor");
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    auto v = source->Range(10, 20);
    ASSERT_TRUE(v.ok());
    ASSERT_GE(*v, 10u);
    ASSERT_LT(*v, 20u);
    seen.insert(*v);
  }
  EXPECT_EQ(seen.size(), 10u);  // every value of [10, 20) turns up

  for (int i = 0; i < 1000; ++i) {
    auto v = source->Range(5, 6);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, 5u);
    auto big = source->Range(UINT64_MAX - 3, UINT64_MAX);
    ASSERT_TRUE(big.ok());
    EXPECT_GE(*big, UINT64_MAX - 3);
    EXPECT_LT(*big, UINT64_MAX);
  }
  auto full = source->Range(0, UINT64_MAX);
  ASSERT_TRUE(full.ok());
  EXPECT_LT(*full, UINT64_MAX);
}

TEST(RandomSourceTest, RangeIsRoughlyUniform) {
  // A span of 3 * 2^62 makes plain `x % span` put half the draws in the lowest third; with
  // rejection sampling each third gets about a third of them.
  auto source = SeededOrDie(11, "actor");
  const uint64_t third = uint64_t{1} << 62;
  int counts[3] = {};
  const int kDraws = 30000;
  for (int i = 0; i < kDraws; ++i) {
    auto v = source->Range(0, 3 * third);
    ASSERT_TRUE(v.ok());
    ++counts[*v / third];
  }
  for (int c : counts) {
    EXPECT_GT(c, kDraws / 3 - 600);
    EXPECT_LT(c, kDraws / 3 + 600);
  }
}

TEST(RandomSourceTest, RangeRejectsEmptyRanges) {
  auto source = SeededOrDie(1, "actor");
  auto equal = source->Range(5, 5);
  ASSERT_FALSE(equal.ok());
  EXPECT_EQ(equal.status().message(), "Invalid range: min (5) >= max (5)");
  auto reversed = source->Range(9, 3);
  ASSERT_FALSE(reversed.ok());
  EXPECT_EQ(reversed.status().message(), "Invalid range: min (9) >= max (3)");
}

TEST(RandomSourceTest, FloatIsInUnitInterval) {
  auto source = SeededOrDie(3, "actor");
  double sum = 0;
  const int kDraws = 10000;
  for (int i = 0; i < kDraws; ++i) {
    auto v = source->Float();
    ASSERT_TRUE(v.ok());
    ASSERT_GE(*v, 0.0);
    ASSERT_LT(*v, 1.0);
    // 53 bits: every value is a multiple of 2^-53.
    ASSERT_EQ(std::ldexp(*v, 53), std::floor(std::ldexp(*v, 53)));
    sum += *v;
  }
  EXPECT_NEAR(sum / kDraws, 0.5, 0.02);
}

TEST(RandomSourceTest, UuidIsVersion4) {
  auto source = RandomSource::OsEntropy();
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto uuid = source->Uuid();
    ASSERT_TRUE(uuid.ok());
    const std::string& u = *uuid;
    ASSERT_EQ(u.size(), 36u) << u;
    for (size_t j = 0; j < u.size(); ++j) {
      if (j == 8 || j == 13 || j == 18 || j == 23) {
        ASSERT_EQ(u[j], '-') << u;
      } else {
        ASSERT_TRUE((u[j] >= '0' && u[j] <= '9') || (u[j] >= 'a' && u[j] <= 'f')) << u;
      }
    }
    EXPECT_EQ(u[14], '4') << u;
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(RandomSourceTest, SeededUuidIsReproducible) {
  auto a = SeededOrDie(77, "actor-x");
  auto b = SeededOrDie(77, "actor-x");
  auto c = SeededOrDie(77, "actor-y");
  std::string ua = *a->Uuid();
  EXPECT_EQ(ua, *b->Uuid());
  EXPECT_NE(ua, *c->Uuid());
  EXPECT_EQ(ua[14], '4');
}

TEST(RandomRequestTest, BytesLimits) {
  RandomPermissions unlimited;
  EXPECT_TRUE(CheckRandomBytesRequest(WithRandom(unlimited), unlimited, 1024).ok());
  EXPECT_TRUE(CheckRandomBytesRequest(WithRandom(unlimited), unlimited, 0).ok());

  RandomPermissions perm_limit;
  perm_limit.max_bytes = 16;
  EXPECT_TRUE(CheckRandomBytesRequest(WithRandom(perm_limit), unlimited, 16).ok());
  Status over_perm = CheckRandomBytesRequest(WithRandom(perm_limit), unlimited, 17);
  EXPECT_EQ(over_perm.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(over_perm.message(), CheckRandomBytes(WithRandom(perm_limit), 17).message());

  RandomPermissions own_limit;
  own_limit.max_bytes = 8;
  EXPECT_TRUE(CheckRandomBytesRequest(WithRandom(unlimited), own_limit, 8).ok());
  EXPECT_FALSE(CheckRandomBytesRequest(WithRandom(unlimited), own_limit, 9).ok());

  // The hard cap applies even when nothing else limits the request.
  EXPECT_TRUE(CheckRandomBytesRequest(WithRandom(unlimited), unlimited, kRandomBytesHardCap).ok());
  Status capped =
      CheckRandomBytesRequest(WithRandom(unlimited), unlimited, kRandomBytesHardCap + 1);
  EXPECT_FALSE(capped.ok());
  EXPECT_NE(capped.message().find(std::to_string(kRandomBytesHardCap)), std::string::npos);

  // No random permission at all: denied.
  EXPECT_FALSE(CheckRandomBytesRequest(EffectivePermissions{}, unlimited, 1).ok());
}

TEST(RandomRequestTest, RangeLimits) {
  RandomPermissions unlimited;
  EXPECT_TRUE(CheckRandomRangeRequest(WithRandom(unlimited), unlimited, 0, UINT64_MAX).ok());
  EXPECT_EQ(CheckRandomRangeRequest(WithRandom(unlimited), unlimited, 4, 4).message(),
            "Invalid range: min (4) >= max (4)");

  RandomPermissions own;
  own.max_int = 100;
  EXPECT_TRUE(CheckRandomRangeRequest(WithRandom(unlimited), own, 0, 100).ok());
  EXPECT_EQ(CheckRandomRangeRequest(WithRandom(unlimited), own, 0, 101).message(),
            "Requested max value (101) exceeds configured maximum (100)");

  RandomPermissions perm;
  perm.max_int = 50;
  EXPECT_EQ(CheckRandomRangeRequest(WithRandom(perm), own, 0, 60).message(),
            "Requested max value (60) exceeds configured maximum (50)");
  EXPECT_TRUE(CheckRandomRangeRequest(WithRandom(perm), own, 10, 50).ok());

  EXPECT_FALSE(CheckRandomRangeRequest(EffectivePermissions{}, unlimited, 0, 10).ok());
}

}  // namespace
}  // namespace theater::handlers

// The access decisions alone: hosts, origins, tokens, job keys, who may listen.
#include "access_policy.h"

#include <gtest/gtest.h>

namespace demucs {
namespace {

AccessPolicy with_token(const std::string &token = "0123456789abcdef-token") {
  return AccessPolicy(AccessSettings{token, {"Proxy.Example."}, {"https://App.Example:443/"}, true});
}

TEST(AccessPolicy, ServesLocalhostAddressesAndListedNamesOnly) {
  const AccessPolicy policy = with_token();
  for (const char *host : {"localhost", "LOCALHOST:8000", "localhost.", "127.0.0.1", "127.0.0.1:8000", "[::1]:8000",
                           "192.168.1.20:8000", "proxy.example", "PROXY.example:443"})
    EXPECT_TRUE(policy.host_allowed(host)) << host;
  for (const char *host : {"attacker.example", "localhost.attacker.example", "127.0.0.1.nip.io", "proxy.example.evil",
                           "", ":8000", "[::1", "localhost:http", "localhost:99999"})
    EXPECT_FALSE(policy.host_allowed(host)) << host;
  EXPECT_TRUE(policy.host_allowed(nullptr));  // HTTP/1.0 without Host
}

TEST(AccessPolicy, ClassifiesOrigins) {
  const AccessPolicy policy = with_token();
  using Origin = AccessPolicy::Origin;
  EXPECT_EQ(policy.classify_origin(nullptr, "127.0.0.1:8000"), Origin::none);
  EXPECT_EQ(policy.classify_origin("http://127.0.0.1:8000", "127.0.0.1:8000"), Origin::same);
  EXPECT_EQ(policy.classify_origin("http://LOCALHOST:8000", "localhost:8000"), Origin::same);
  EXPECT_EQ(policy.classify_origin("https://proxy.example", "proxy.example"), Origin::same);  // TLS ends at the proxy
  EXPECT_EQ(policy.classify_origin("http://127.0.0.1:3000", "127.0.0.1:8000"), Origin::foreign);
  EXPECT_EQ(policy.classify_origin("http://evil.example", "127.0.0.1:8000"), Origin::foreign);
  EXPECT_EQ(policy.classify_origin("null", "127.0.0.1:8000"), Origin::foreign);
  EXPECT_EQ(policy.classify_origin("file://", "127.0.0.1:8000"), Origin::foreign);
  EXPECT_EQ(policy.classify_origin("http://evil.example", nullptr), Origin::foreign);
  EXPECT_EQ(policy.classify_origin("https://app.example", "127.0.0.1:8000"), Origin::cors);
  EXPECT_EQ(policy.classify_origin("https://app.example:8443", "127.0.0.1:8000"), Origin::foreign);
}

TEST(AccessPolicy, NormalizesOrigins) {
  EXPECT_EQ(AccessPolicy::normalize_origin("HTTPS://App.Example:443/"), "https://app.example");
  EXPECT_EQ(AccessPolicy::normalize_origin("http://example.com:8080"), "http://example.com:8080");
  EXPECT_EQ(AccessPolicy::normalize_origin("http://[::1]:8000"), "http://[::1]:8000");
  EXPECT_EQ(AccessPolicy::normalize_origin("null"), "");
  EXPECT_EQ(AccessPolicy::normalize_origin("ftp://example.com"), "");
}

TEST(AccessPolicy, ChecksTheBearerToken) {
  const AccessPolicy policy = with_token("0123456789abcdef-token");
  EXPECT_TRUE(policy.token_required());
  EXPECT_TRUE(policy.authorized("Bearer 0123456789abcdef-token"));
  EXPECT_TRUE(policy.authorized("bearer 0123456789abcdef-token"));
  EXPECT_FALSE(policy.authorized(nullptr));
  EXPECT_FALSE(policy.authorized(""));
  EXPECT_FALSE(policy.authorized("Bearer "));
  EXPECT_FALSE(policy.authorized("Bearer 0123456789abcdef-toke"));
  EXPECT_FALSE(policy.authorized("Bearer 0123456789abcdef-token2"));
  EXPECT_FALSE(policy.authorized("Basic 0123456789abcdef-token"));
  EXPECT_FALSE(policy.authorized("0123456789abcdef-token"));

  const AccessPolicy open(AccessSettings{});
  EXPECT_FALSE(open.token_required());
  EXPECT_TRUE(open.authorized(nullptr));
}

TEST(AccessPolicy, ComparesInConstantTime) {
  EXPECT_TRUE(equal_in_constant_time("same", "same"));
  EXPECT_FALSE(equal_in_constant_time("same", "Same"));
  EXPECT_FALSE(equal_in_constant_time("same", "same "));
  EXPECT_TRUE(equal_in_constant_time("", ""));
}

TEST(AccessPolicy, JobKeysOpenOneJobOnly) {
  const AccessPolicy policy = with_token();
  const std::string key = policy.job_key("job-a");
  EXPECT_EQ(key.size(), 32u);
  EXPECT_TRUE(policy.job_key_valid("job-a", key));
  EXPECT_FALSE(policy.job_key_valid("job-b", key));
  EXPECT_FALSE(policy.job_key_valid("job-a", ""));
  EXPECT_NE(with_token("another-token-0123456789").job_key("job-a"), key);
  const AccessPolicy open(AccessSettings{});
  EXPECT_EQ(open.job_key("job-a"), "");
  EXPECT_FALSE(open.job_key_valid("job-a", ""));
}

TEST(AccessPolicy, ListsJobsWithATokenOrOnLoopbackOnly) {
  EXPECT_TRUE(with_token().may_list_jobs(true));
  EXPECT_FALSE(with_token().may_list_jobs(false));
  EXPECT_TRUE(AccessPolicy(AccessSettings{"", {}, {}, true}).may_list_jobs(true));
  EXPECT_FALSE(AccessPolicy(AccessSettings{"", {}, {}, false}).may_list_jobs(true));
}

TEST(AccessPolicy, MayListenOnLoopbackOrWithATokenOrConsent) {
  std::string why;
  EXPECT_TRUE(AccessPolicy::may_listen("127.0.0.1", false, false, why));
  EXPECT_TRUE(AccessPolicy::may_listen("::1", false, false, why));
  EXPECT_TRUE(AccessPolicy::may_listen("localhost", false, false, why));
  EXPECT_TRUE(AccessPolicy::may_listen("0.0.0.0", true, false, why));
  EXPECT_TRUE(AccessPolicy::may_listen("0.0.0.0", false, true, why));
  EXPECT_FALSE(AccessPolicy::may_listen("0.0.0.0", false, false, why));
  EXPECT_NE(why.find("--api-token"), std::string::npos);
  EXPECT_NE(why.find("--allow-unauthenticated"), std::string::npos);
  EXPECT_FALSE(AccessPolicy::may_listen("192.168.1.20", false, false, why));
}

}  // namespace
}  // namespace demucs

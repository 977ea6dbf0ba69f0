// SHA-256 against the FIPS 180-4 / NIST example digests, and in pieces.
#include "registry/file_sha256.h"
#include "registry/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace demucs {
namespace {

std::string digest_of(const std::string& text) {
  Sha256 sha;
  sha.update(text.data(), text.size());
  return sha.hex_digest();
}

TEST(Sha256, EmptyMessage) {
  EXPECT_EQ(digest_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, OneBlock) {
  EXPECT_EQ(digest_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlocks) {
  EXPECT_EQ(digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, AMillionAsInUnevenPieces) {
  Sha256 sha;
  const std::string piece(997, 'a');
  std::size_t left = 1000000;
  while (left > 0) {
    const std::size_t take = std::min(left, piece.size());
    sha.update(piece.data(), take);
    left -= take;
  }
  EXPECT_EQ(sha.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, DigestLeavesTheStateAsItWas) {
  Sha256 sha;
  sha.update("ab", 2);
  (void)sha.hex_digest();
  sha.update("c", 1);
  EXPECT_EQ(sha.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, PrefixCheckIgnoresCaseAndRefusesAnEmptyPrefix) {
  const std::string hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_TRUE(sha256_hex_has_prefix(hex, "BA7816bf"));
  EXPECT_FALSE(sha256_hex_has_prefix(hex, "ba7816be"));
  EXPECT_FALSE(sha256_hex_has_prefix(hex, ""));
}

}  // namespace
}  // namespace demucs

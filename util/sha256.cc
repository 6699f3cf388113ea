#include "util/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "util/strings.h"

namespace ocibuild {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(const void* data, size_t len) {
  EVP_DigestUpdate(ctx_->md, data, len);
  bytes_ += len;
}

std::string Sha256::FinishHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, md, &n);
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
  bytes_ = 0;
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), n));
}

std::string Sha256::HexOf(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.FinishHex();
}

}  // namespace ocibuild

// Expected failures travel as values: Result<T> holds either a T or an Error with context.
// Exceptions are reserved for programming errors and are caught once, in main.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace ocibuild {

struct Error {
  std::string message;  // complete, user-facing: "open /x/y: No such file or directory"
  int sys_errno = 0;    // errno when the failure came from a syscall, else 0

  // Prepends context: Error{"ENOENT"}.Context("reading config") -> "reading config: ENOENT".
  Error Context(const std::string& what) const& {
    return Error{what + ": " + message, sys_errno};
  }
  Error Context(const std::string& what) && {
    message = what + ": " + message;
    return std::move(*this);
  }
};

// An Error for a failed syscall: "<call> <subject>: <strerror(err)>".
Error SysError(const std::string& call, const std::string& subject, int err = errno);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

 private:
  Error err_;
  bool failed_ = false;
};

using Status = Result<void>;

inline Status Ok() { return {}; }

}  // namespace ocibuild

// Propagates the error of an expression yielding Result<...>; evaluates to nothing.
#define OCIB_TRY(expr)                                  \
  do {                                                  \
    auto ocib_try_result_ = (expr);                     \
    if (!ocib_try_result_.ok())                         \
      return std::move(ocib_try_result_).error();       \
  } while (0)

#define OCIB_CONCAT_INNER_(a, b) a##b
#define OCIB_CONCAT_(a, b) OCIB_CONCAT_INNER_(a, b)

// OCIB_ASSIGN_OR_RETURN(auto x, Compute()); binds the value or returns the error.
#define OCIB_ASSIGN_OR_RETURN(lhs, expr) \
  OCIB_ASSIGN_OR_RETURN_IMPL_(OCIB_CONCAT_(ocib_res_, __LINE__), lhs, expr)
#define OCIB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).error();     \
  lhs = std::move(tmp).value()

// Theater: a WebAssembly actor runtime.
//
// gtest checks of a Status, for tests only: ASSERT_OK(expr) stops the test unless `expr` is OK;
// EXPECT_ERROR(expr, code, substring) expects `expr` to fail with `code` and its whole message
// (the context outer levels added and the root cause) to contain `substring`. Both print the
// status when they fail.
//
// Thread-safety: as gtest's assertions. Ownership: none.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "theater/status.h"

#define ASSERT_OK(expr)                                                  \
  do {                                                                   \
    const ::theater::Status assert_ok_status_ = (expr);                  \
    ASSERT_TRUE(assert_ok_status_.ok()) << assert_ok_status_.ToString(); \
  } while (0)

#define EXPECT_ERROR(status_expr, expected_code, substring)                       \
  do {                                                                            \
    const ::theater::Status s_ = (status_expr);                                   \
    EXPECT_EQ(s_.code(), (expected_code)) << s_.ToString();                       \
    EXPECT_NE(s_.ToString().find(substring), std::string::npos) << s_.ToString(); \
  } while (0)

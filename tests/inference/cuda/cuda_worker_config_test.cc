// The worker configuration's tensor_parallel key (full build only: the worker needs gRPC).
#include <gtest/gtest.h>

#include "worker/config.h"

namespace {

TEST(WorkerTensorParallelConfigTest, DefaultsToOneAndAcceptsAGpuCount) {
  auto plain = worker::ParseWorkerConfig(
      R"({"unix_socket": "s", "models": [{"name": "a", "path": "p"}]})", "");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->models[0].tensor_parallel, 1);
  auto four = worker::ParseWorkerConfig(
      R"({"unix_socket": "s", "models": [{"name": "a", "path": "p", "backend": "cuda",
                                          "tensor_parallel": 4}]})",
      "");
  ASSERT_TRUE(four.ok()) << four.status();
  EXPECT_EQ(four->models[0].tensor_parallel, 4);
}

TEST(WorkerTensorParallelConfigTest, OutOfRangeNamesTheKey) {
  for (const char* value : {"0", "65", "\"2\""}) {
    const std::string json = std::string(R"({"unix_socket": "s", "models": [{"name": "a", "path": "p", "tensor_parallel": )") +
                             value + "}]}";
    auto c = worker::ParseWorkerConfig(json, "");
    ASSERT_FALSE(c.ok()) << value;
    EXPECT_EQ(c.status().code(), common::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("tensor_parallel"), std::string::npos) << c.status();
  }
}

}  // namespace

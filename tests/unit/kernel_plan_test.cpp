//===- kernel_plan_test.cpp - plan files: JSON round trip and strict reading ===//
#include "targets/KernelPlan.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

KernelPlan samplePlan(const std::string &key) {
  KernelPlan plan;
  plan.backend = "x86";
  plan.kernel = "k3_conv_relu";
  plan.key = key;
  plan.vectorLanes = 16;
  plan.outputs = "by_stage";
  StagePlan conv;
  conv.kind = "conv";
  conv.schedule = "register_tiles";
  conv.vectorLanes = 16;
  conv.columns = 32;
  conv.rows = 8;
  conv.rowDim = 2;
  conv.parallel = true;
  StagePlan copy;
  copy.kind = "data";
  copy.schedule = "rolling";
  copy.vectorLanes = 16;
  StagePlan gpu;
  gpu.kind = "pool";
  gpu.schedule = "gpu_tiles";
  gpu.threadsX = 32;
  gpu.threadsY = 8;
  plan.stages = {conv, copy, gpu};
  return plan;
}

TEST(PlanFile, RoundTripsEveryField) {
  PlanFile file;
  file.add(samplePlan("bb"));
  file.add(samplePlan("aa"));
  std::string error;
  auto read = PlanFile::fromJson(file.toJson(), error);
  ASSERT_TRUE(read) << error;
  ASSERT_EQ(read->size(), 2u);
  ASSERT_NE(read->find("aa"), nullptr);
  EXPECT_EQ(*read->find("aa"), samplePlan("aa"));
  EXPECT_EQ(*read->find("bb"), samplePlan("bb"));
  // Written sorted by key, so the same plans always give the same file.
  EXPECT_EQ(read->toJson(), file.toJson());
  EXPECT_LT(file.toJson().find("\"aa\""), file.toJson().find("\"bb\""));
}

TEST(PlanFile, RefusesWhatIsNotAPlanFile) {
  std::string error;
  EXPECT_FALSE(PlanFile::fromJson("[1, 2]", error));
  EXPECT_NE(error.find("top level must be an object"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(PlanFile::fromJson(R"({"format": "other", "version": 1, "plans": []})", error));
  EXPECT_NE(error.find("expected 'kiln-plans'"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(PlanFile::fromJson(R"({"format": "kiln-plans", "version": 9, "plans": []})", error));
  EXPECT_NE(error.find("version 9"), std::string::npos) << error;
}

TEST(PlanFile, NamesTheFieldThatIsWrong) {
  std::string text = R"({"format": "kiln-plans", "version": 1, "plans": [{"key": "k1",
      "backend": "x86", "outputs": "root", "stages": [{"kind": "conv", "schedule": "root",
      "rows": "eight"}]}]})";
  std::string error;
  EXPECT_FALSE(PlanFile::fromJson(text, error));
  EXPECT_EQ(error, "plan k1, stage 0: field 'rows' must be an integer");
  error.clear();
  text = R"({"format": "kiln-plans", "version": 1, "plans": [{"key": "k1", "backend": "x86",
      "outputs": "root", "stages": [], "tile": 4}]})";
  EXPECT_FALSE(PlanFile::fromJson(text, error));
  EXPECT_EQ(error, "plan k1: unknown field 'tile'");
  error.clear();
  text = R"({"format": "kiln-plans", "version": 1, "plans": [{"key": "k1", "backend": "x86",
      "outputs": "root", "stages": [{"kind": "conv", "schedule": "root", "rows": 99999999}]}]})";
  EXPECT_FALSE(PlanFile::fromJson(text, error));
  EXPECT_EQ(error, "plan k1, stage 0: field 'rows' is out of range");
}

TEST(PlanFile, ReadReportsTheFile) {
  std::string error;
  EXPECT_FALSE(PlanFile::read("/nonexistent/plans.json", error));
  EXPECT_NE(error.find("cannot read /nonexistent/plans.json"), std::string::npos) << error;
}

} // namespace
} // namespace kiln

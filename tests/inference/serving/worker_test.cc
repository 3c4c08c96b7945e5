// assistant-worker end to end: the real gRPC server on a Unix socket in a
// temporary directory, the real stories260K model, a real client stub.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/json.h"
#include "common/sha256.h"
#include "gated_model.h"
#include "inference/synth.h"
#include "inference/tokenizer.h"
#include "inference/v1/inference.grpc.pb.h"
#include "worker/config.h"
#include "worker/models.h"
#include "worker/server.h"
#include "worker/service.h"
#include "worker_stress.h"

namespace {

namespace v1 = ::inference::v1;
using inference::testing::Gate;
using inference::testing::GatedModel;

const std::string kModel = std::string(ASSISTANT_SOURCE_DIR) + "/tests/data/tinyllamas/stories260K.gguf";

const std::string kTls = std::string(ASSISTANT_SOURCE_DIR) + "/tests/inference/serving/tls/";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Case {
  std::vector<int32_t> prompt;
  std::vector<int32_t> expected;
  std::string text;
};

std::vector<Case> LoadCases() {
  std::ifstream in(std::string(ASSISTANT_SOURCE_DIR) +
                   "/tests/data/tinyllamas/stories260K.greedy.jsonl");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    auto j = common::Json::Parse(line);
    if (!j.ok()) continue;
    Case c;
    for (const auto& v : j->Find("prompt_ids")->as_array()) c.prompt.push_back(static_cast<int32_t>(v.as_int()));
    for (const auto& v : j->Find("greedy_ids")->as_array()) c.expected.push_back(static_cast<int32_t>(v.as_int()));
    c.text = j->Find("text")->as_string();
    cases.push_back(std::move(c));
  }
  return cases;
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/worker-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    gate_ = std::make_shared<Gate>();
  }
  void TearDown() override {
    if (server_.server) {
      server_.server->Shutdown(std::chrono::system_clock::now());
      server_.server->Wait();
    }
    service_.reset();
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }

  worker::ModelEntry Entry(const std::string& name = "stories") {
    worker::ModelEntry e;
    e.name = name;
    e.path = kModel;
    e.kv_cache_bytes = size_t{8} << 20;
    e.max_num_seqs = 16;
    e.max_waiting = 64;
    return e;
  }

  void Start(std::vector<worker::ModelEntry> models) {
    worker::WorkerConfig config;
    config.unix_socket = dir_ + "/worker.sock";
    config.threads = 1;
    config.models = std::move(models);
    if (with_tcp_) {
      config.tcp.address = "127.0.0.1:0";
      config.tcp.cert_file = kTls + "worker.pem";
      config.tcp.key_file = kTls + "worker.key";
      config.tcp.client_ca_file = kTls + "ca.pem";
    }
    auto gate = gate_;
    registry_ = worker::ModelRegistry::Start(
        config, [gate](const worker::ModelEntry& e, int threads)
                    -> common::StatusOr<std::unique_ptr<inference::Model>> {
          inference::ModelOptions o;
          o.threads = threads;
          ASSIGN_OR_RETURN(auto m, inference::Model::Load(e.path, o));
          return std::unique_ptr<inference::Model>(new GatedModel(std::move(m), gate));
        });
    registry_->WaitUntilLoaded();
    service_ = std::make_unique<worker::InferenceServiceImpl>(registry_.get());
    auto server = worker::StartServer(config, service_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    target_ = "unix:" + config.unix_socket;
    stub_ = v1::InferenceService::NewStub(
        grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
  }

  static v1::GenerateRequest IdsRequest(const std::vector<int32_t>& prompt, int max_tokens,
                                        const std::string& model = "stories") {
    v1::GenerateRequest r;
    r.set_model(model);
    for (int32_t id : prompt) r.mutable_prompt_ids()->add_ids(id);
    r.set_max_tokens(static_cast<uint32_t>(max_tokens));
    return r;  // sampling zero values: greedy
  }

  struct Streamed {
    std::vector<int32_t> ids;
    std::string text;
    std::vector<std::string> kinds;
    v1::GenerateFinished finished;
    grpc::Status status;
  };

  Streamed Run(const v1::GenerateRequest& req) {
    Streamed s;
    grpc::ClientContext ctx;
    auto reader = stub_->Generate(&ctx, req);
    v1::GenerateEvent ev;
    while (reader->Read(&ev)) {
      if (ev.has_started()) s.kinds.push_back("started");
      if (ev.has_token()) {
        if (s.kinds.empty() || s.kinds.back() != "token") s.kinds.push_back("token");
        s.ids.insert(s.ids.end(), ev.token().ids().begin(), ev.token().ids().end());
        s.text += ev.token().text();
      }
      if (ev.has_finished()) {
        s.kinds.push_back("finished");
        s.finished = ev.finished();
      }
    }
    s.status = reader->Finish();
    return s;
  }

  inference::Engine* engine() { return registry_->Find("stories")->engine(); }

  std::string dir_;
  bool with_tcp_ = false;
  std::shared_ptr<Gate> gate_;
  std::unique_ptr<worker::ModelRegistry> registry_;
  std::unique_ptr<worker::InferenceServiceImpl> service_;
  worker::RunningServer server_;
  std::string target_;
  std::unique_ptr<v1::InferenceService::Stub> stub_;
};

TEST_F(WorkerTest, ListModelsReportsReadyModelWithItsHash) {
  Start({Entry()});
  grpc::ClientContext ctx;
  v1::ListModelsResponse resp;
  ASSERT_TRUE(stub_->ListModels(&ctx, v1::ListModelsRequest(), &resp).ok());
  ASSERT_EQ(resp.models_size(), 1);
  const auto& m = resp.models(0);
  EXPECT_EQ(m.state(), v1::ModelInfo::STATE_READY);
  EXPECT_FLOAT_EQ(m.load_progress(), 1.0f);
  EXPECT_EQ(m.sha256(), *common::Sha256File(kModel));
  EXPECT_EQ(m.architecture(), "llama");
  EXPECT_GT(m.context_length(), 0u);
}

TEST_F(WorkerTest, GreedyStreamReproducesRecordedIdsAndText) {
  Start({Entry()});
  const auto cases = LoadCases();
  ASSERT_EQ(cases.size(), 10u);
  const auto s = Run(IdsRequest(cases[0].prompt, 64));
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  EXPECT_EQ(s.ids, cases[0].expected);
  EXPECT_EQ(s.text, cases[0].text);
  EXPECT_EQ(s.kinds, (std::vector<std::string>{"started", "token", "finished"}));
  EXPECT_EQ(s.finished.reason(), v1::GenerateFinished::REASON_LENGTH);
  EXPECT_EQ(s.finished.completion_tokens(), 64u);
  EXPECT_EQ(s.finished.prompt_tokens(), cases[0].prompt.size());
}

TEST_F(WorkerTest, TextPromptIsTokenizedWithBos) {
  Start({Entry()});
  const auto cases = LoadCases();
  v1::GenerateRequest req;
  req.set_model("stories");
  req.set_text("Once upon a time");
  req.set_max_tokens(64);
  const auto s = Run(req);
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  EXPECT_EQ(s.finished.prompt_tokens(), cases[0].prompt.size());
  EXPECT_EQ(s.ids, cases[0].expected);
}

TEST_F(WorkerTest, ConcurrentStreamsEachReproduceTheirRecordedIds) {
  Start({Entry()});
  const auto cases = LoadCases();
  std::vector<Streamed> out(cases.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < cases.size(); ++i) {
    threads.emplace_back([&, i] { out[i] = Run(IdsRequest(cases[i].prompt, 64)); });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_TRUE(out[i].status.ok()) << i;
    EXPECT_EQ(out[i].ids, cases[i].expected) << i;
  }
}

TEST_F(WorkerTest, BadRequestsGetSpecificCodes) {
  Start({Entry()});
  EXPECT_EQ(Run(IdsRequest({1, 2}, 4, "nope")).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Run(IdsRequest({}, 4)).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Run(IdsRequest({1, 999999}, 4)).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GenerateRequest none;
  none.set_model("stories");
  EXPECT_EQ(Run(none).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_sampling = IdsRequest({1, 2}, 4);
  bad_sampling.mutable_sampling()->set_top_p(3.0f);
  EXPECT_EQ(Run(bad_sampling).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(WorkerTest, PinnedHashMismatchFailsTheModelAndRefusesRequests) {
  auto e = Entry();
  e.sha256 = std::string(64, '0');
  Start({e});
  grpc::ClientContext ctx;
  v1::ListModelsResponse resp;
  ASSERT_TRUE(stub_->ListModels(&ctx, v1::ListModelsRequest(), &resp).ok());
  EXPECT_EQ(resp.models(0).state(), v1::ModelInfo::STATE_FAILED);
  EXPECT_NE(resp.models(0).error().find("SHA-256 mismatch"), std::string::npos);
  EXPECT_EQ(Run(IdsRequest({1, 2}, 4)).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(WorkerTest, PinnedMatchingHashLoads) {
  auto e = Entry();
  e.sha256 = *common::Sha256File(kModel);
  Start({e});
  EXPECT_TRUE(Run(IdsRequest({1, 2}, 4)).status.ok());
}

TEST_F(WorkerTest, FullWorkerRefusesWithResourceExhausted) {
  auto e = Entry();
  e.max_num_seqs = 1;
  e.max_batched_tokens = 64;
  e.max_waiting = 1;
  Start({e});
  gate_->Close();
  grpc::ClientContext a_ctx, b_ctx;
  auto a = stub_->Generate(&a_ctx, IdsRequest({1, 2, 3}, 4));
  gate_->WaitForArrivals(1);  // a is running, its step held
  auto b = stub_->Generate(&b_ctx, IdsRequest({1, 4, 5}, 4));
  // b is queued once the engine reports it waiting.
  while (engine()->Stats().waiting < 1) std::this_thread::yield();
  const auto c = Run(IdsRequest({1, 6, 7}, 4));
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(c.status.error_message().find("retry"), std::string::npos);
  gate_->Open();
  v1::GenerateEvent ev;
  while (a->Read(&ev)) {}
  while (b->Read(&ev)) {}
  EXPECT_TRUE(a->Finish().ok());
  EXPECT_TRUE(b->Finish().ok());
}

TEST_F(WorkerTest, ClientCancelStopsTheSequenceWithinAStep) {
  Start({Entry()});
  const auto cases = LoadCases();
  // Hold every step from the start, so the sequence cannot finish its 64
  // tokens before the cancel however the threads are scheduled.
  gate_->Close();
  const int before = gate_->arrivals();
  grpc::ClientContext ctx;
  // A continuation known to run 64 tokens without EOS.
  auto reader = stub_->Generate(&ctx, IdsRequest(cases[0].prompt, 64));
  gate_->WaitForArrivals(before + 1);  // the sequence's step is in flight, held
  ctx.TryCancel();
  // The handler notices the cancelled call and aborts the sequence while
  // the step is still held: nothing of it is left when the step finishes.
  while (engine()->Stats().running + engine()->Stats().waiting > 0) std::this_thread::yield();
  const int held_step = gate_->arrivals();
  gate_->Open();
  v1::GenerateEvent ev;
  while (reader->Read(&ev)) {}
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(gate_->arrivals(), held_step);  // no further step ran for it
  EXPECT_EQ(engine()->Stats().kv_blocks_free, engine()->Stats().kv_blocks_total);
}

TEST_F(WorkerTest, StatusReportsCapacityAndCounters) {
  Start({Entry()});
  Run(IdsRequest({1, 2, 3}, 5));
  grpc::ClientContext ctx;
  v1::StatusResponse st;
  ASSERT_TRUE(stub_->Status(&ctx, v1::StatusRequest(), &st).ok());
  EXPECT_EQ(st.capacity(), 16u + 64u);
  EXPECT_EQ(st.tokens_generated(), 5u);
  EXPECT_EQ(st.kv_blocks_free(), st.kv_blocks_total());
  EXPECT_FALSE(st.version().empty());
}

TEST_F(WorkerTest, ShortStressOf64StreamsWithCancellationsEndsCleanly) {
  auto e = Entry();
  e.max_num_seqs = 32;
  e.max_waiting = 16;  // 64 clients > 48 slots: some are refused
  Start({e});
  const auto r = inference::testing::RunStress(target_, "stories", 64,
                                               std::chrono::milliseconds(3000), 512, 1);
  for (const auto& f : r.failure_samples) ADD_FAILURE() << f;
  EXPECT_EQ(r.failures, 0);
  EXPECT_GT(r.finished, 0);
  EXPECT_GT(r.cancelled, 0);
  EXPECT_GT(r.tokens, 0);
  const auto stats = engine()->Stats();
  EXPECT_EQ(stats.running + stats.waiting, 0);
  EXPECT_EQ(stats.kv_blocks_free, stats.kv_blocks_total);
}

TEST_F(WorkerTest, ChatPromptsAreRenderedWithTheModelsOwnTemplate) {
  // A small synthetic llama carrying the Phi-3 vocabulary and chat template.
  auto vocab = inference::GgufFile::Open(std::string(ASSISTANT_SOURCE_DIR) +
                                         "/tests/data/vocab/ggml-vocab-phi-3.gguf");
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  auto synth = inference::SynthPreset("tiny");
  ASSERT_TRUE(synth.ok()) << synth.status();
  const std::string path = dir_ + "/phi3-synth.gguf";
  ASSERT_TRUE(inference::SynthesizeToFile(*synth, vocab->get(), path).ok());
  auto chat = Entry("chat");
  chat.path = path;
  Start({Entry(), chat});

  v1::RenderChatRequest rq;
  rq.set_model("chat");
  auto* m = rq.mutable_chat()->add_messages();
  m->set_role("user");
  m->set_content("Hello there");
  grpc::ClientContext ctx;
  v1::RenderChatResponse resp;
  const auto st = stub_->RenderChat(&ctx, rq, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(resp.text().find("<|user|>"), std::string::npos);
  EXPECT_NE(resp.text().find("Hello there"), std::string::npos);
  EXPECT_NE(resp.text().rfind("<|assistant|>"), std::string::npos);
  auto tok = inference::Tokenizer::FromGguf(**vocab);
  ASSERT_TRUE(tok.ok());
  const auto user_id = (*tok)->TokenId("<|user|>");
  ASSERT_TRUE(user_id.has_value());
  EXPECT_NE(std::find(resp.ids().begin(), resp.ids().end(), *user_id), resp.ids().end())
      << "special tokens of the rendered template are parsed as control tokens";
  const std::string source = *(*vocab)->GetString("tokenizer.chat_template");
  EXPECT_EQ(resp.chat_template_sha256(), common::HexEncode(common::Sha256::Hash(source)));

  v1::GenerateRequest gen;
  gen.set_model("chat");
  *gen.mutable_chat() = rq.chat();
  gen.set_max_tokens(4);
  grpc::ClientContext gctx;
  auto reader = stub_->Generate(&gctx, gen);
  v1::GenerateEvent ev;
  std::string started_sha;
  uint32_t prompt_tokens = 0;
  while (reader->Read(&ev)) {
    if (ev.has_started()) started_sha = ev.started().chat_template_sha256();
    if (ev.has_finished()) prompt_tokens = ev.finished().prompt_tokens();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(started_sha, resp.chat_template_sha256());
  EXPECT_EQ(prompt_tokens, static_cast<uint32_t>(resp.ids_size()));

  // The stories model has no template: a clear refusal.
  rq.set_model("stories");
  grpc::ClientContext ctx2;
  EXPECT_EQ(stub_->RenderChat(&ctx2, rq, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(WorkerTest, TcpListenerRequiresAClientCertificateFromTheTrustedCa) {
  with_tcp_ = true;
  Start({Entry()});
  ASSERT_GT(server_.tcp_port, 0);
  const std::string target = "localhost:" + std::to_string(server_.tcp_port);
  auto status_with = [&](const std::string& key, const std::string& cert) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ReadText(kTls + "ca.pem");
    if (!key.empty()) {
      o.pem_private_key = ReadText(kTls + key);
      o.pem_cert_chain = ReadText(kTls + cert);
    }
    auto stub = v1::InferenceService::NewStub(grpc::CreateChannel(target, grpc::SslCredentials(o)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::StatusResponse resp;
    return stub->Status(&ctx, v1::StatusRequest(), &resp).error_code();
  };
  EXPECT_EQ(status_with("gateway.key", "gateway.pem"), grpc::StatusCode::OK);
  EXPECT_EQ(status_with("stranger.key", "stranger.pem"), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status_with("", ""), grpc::StatusCode::UNAVAILABLE);
  // Plaintext to the TLS port fails too.
  auto plain = v1::InferenceService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::StatusResponse resp;
  EXPECT_EQ(plain->Status(&ctx, v1::StatusRequest(), &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(WorkerConfigTest, ParsesModelsAndResolvesRelativePaths) {
  auto c = worker::ParseWorkerConfig(
      R"({"unix_socket": "w.sock", "threads": 2,
          "models": [{"name": "a", "path": "m.gguf", "kv_cache_mb": 32, "max_num_seqs": 4,
                      "max_batched_tokens": 64, "sha256": "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"}]})",
      "/etc/assistant");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->unix_socket, "/etc/assistant/w.sock");
  EXPECT_EQ(c->models[0].path, "/etc/assistant/m.gguf");
  EXPECT_EQ(c->models[0].kv_cache_bytes, size_t{32} << 20);
  EXPECT_EQ(c->models[0].sha256.substr(0, 6), "abcdef");
}

TEST(WorkerConfigTest, RefusesUnknownKeysInsecureTcpDuplicatesAndBadHashes) {
  using common::StatusCode;
  auto code = [](const char* json) { return worker::ParseWorkerConfig(json, "").status().code(); };
  EXPECT_EQ(code(R"({"unix_socket": "s", "models": [{"name": "a", "path": "p", "kv_cache": 1}]})"),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"tcp": {"address": "0.0.0.0:1"}, "models": [{"name": "a", "path": "p"}]})"),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"unix_socket": "s", "models": [{"name": "a", "path": "p"}, {"name": "a", "path": "q"}]})"),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"unix_socket": "s", "models": [{"name": "a", "path": "p", "sha256": "xyz"}]})"),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"models": [{"name": "a", "path": "p"}]})"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"unix_socket": "s", "models": []})"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("{"), StatusCode::kInvalidArgument);
  const auto st = worker::ParseWorkerConfig(
      R"({"unix_socket": "s", "models": [{"name": "a", "path": "p", "kv_cache": 1}]})", "");
  EXPECT_NE(st.status().message().find("kv_cache"), std::string::npos);
}

}  // namespace

#include <chrono>
#include <iostream>

#include <grpcpp/client_context.h>

#include "assistant/v1/health.grpc.pb.h"
#include "cli_common.h"
#include "common/json.h"

namespace appliance::cli {

int RunHealth(Invocation& inv) {
  for (const auto& a : inv.args) {
    if (a == "--help" || a == "-h") {
      std::cout << "usage: assistant [GLOBAL OPTIONS] health\n\n"
                   "Calls HealthService.Check on assistantd over TLS and prints the answer.\n"
                   "Exit status 0 when the appliance is serving.\n";
      return 0;
    }
    std::cerr << "assistant health: unexpected argument '" << a << "'\n";
    return 2;
  }
  auto channel = MakeClientChannel(inv.options.client);
  if (!channel.ok()) {
    std::cerr << "assistant health: " << channel.status().message() << "\n";
    return 1;
  }
  auto stub = assistant::v1::HealthService::NewStub(*channel);
  grpc::ClientContext context;
  PrepareContext(inv.options.client, &context);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  assistant::v1::HealthCheckResponse response;
  grpc::Status s = stub->Check(&context, assistant::v1::HealthCheckRequest(), &response);
  if (!s.ok()) {
    std::cerr << "assistant health: " << inv.options.client.address << ": "
              << FromGrpcStatus(s, context).ToString() << "\n";
    return 1;
  }
  const char* status = assistant::v1::HealthCheckResponse::ServingStatus_Name(response.status()).c_str();
  if (inv.options.json) {
    common::Json j = common::Json::MakeObject();
    j.Set("status", status);
    j.Set("version", response.version());
    j.Set("site", response.site());
    j.Set("caller", response.caller());
    common::Json comps = common::Json::MakeArray();
    for (const auto& c : response.components()) {
      common::Json cj = common::Json::MakeObject();
      cj.Set("name", c.name());
      cj.Set("ok", c.ok());
      cj.Set("detail", c.detail());
      comps.Push(std::move(cj));
    }
    j.Set("components", std::move(comps));
    std::cout << j.Dump() << "\n";
  } else {
    std::cout << "assistantd at " << inv.options.client.address << ": " << status << " (version "
              << response.version() << ", site " << response.site() << ")\n";
    if (!response.caller().empty()) std::cout << "  you are: " << response.caller() << "\n";
    for (const auto& c : response.components()) {
      std::cout << "  " << c.name() << ": " << (c.ok() ? "ok" : "FAIL") << " - " << c.detail() << "\n";
    }
  }
  return response.status() == assistant::v1::HealthCheckResponse::NOT_SERVING ? 1 : 0;
}

}  // namespace appliance::cli

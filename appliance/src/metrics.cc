#include "metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace appliance {

void Metrics::Observe(Histogram& h, uint64_t micros) {
  size_t i = 0;
  while (i < kBucketsUs.size() && micros > kBucketsUs[i]) ++i;
  h.buckets[i].fetch_add(1, std::memory_order_relaxed);
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sum_us.fetch_add(micros, std::memory_order_relaxed);
}

void Metrics::RenderHistogram(const Histogram& h, const char* name, const char* help,
                              std::string* out) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBucketsUs.size(); ++i) {
    cumulative += h.buckets[i].load();
    *out += std::string(name) + "_bucket{le=\"" + std::to_string(kBucketsUs[i] / 1e6) + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  cumulative += h.buckets[kBucketsUs.size()].load();
  *out += std::string(name) + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  *out += std::string(name) + "_sum " + std::to_string(h.sum_us.load() / 1e6) + "\n";
  *out += std::string(name) + "_count " + std::to_string(h.count.load()) + "\n";
}

std::string Metrics::Render(const std::string& gauges) const {
  std::string out;
  auto counter = [&](const char* name, const char* help, const std::atomic<uint64_t>& v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v.load()) + "\n";
  };
  counter("assistant_chat_requests_total", "Chat requests received.", chat_requests);
  counter("assistant_chat_denied_total", "Chat requests denied by policy or role.", chat_denied);
  counter("assistant_chat_rate_limited_total", "Chat requests refused by limits.", chat_rate_limited);
  counter("assistant_chat_errors_total", "Chat streams that ended with an error.", chat_errors);
  counter("assistant_chat_completed_total", "Chat streams completed.", chat_completed);
  counter("assistant_auth_failures_total", "Failed authentications.", auth_failures);
  counter("assistant_audit_failures_total", "Refused requests because the ledger failed.",
          audit_failures);
  counter("assistant_tokens_generated_total", "Completion tokens streamed.", tokens_generated);
  counter("assistant_worker_restarts_total", "Worker restarts.", worker_restarts);
  RenderHistogram(overhead_, "assistant_gateway_overhead_seconds",
                  "Time the gateway adds to a chat: its time for the request minus the worker's "
                  "(auth, policy, audit appends, routing, relaying, vault).",
                  &out);
  RenderHistogram(ttft_, "assistant_time_to_first_token_seconds", "Time to first token.", &out);
  RenderHistogram(ledger_append_, "assistant_ledger_append_seconds",
                  "One durable audit ledger append (group commit and fsync).", &out);
  out += gauges;
  return out;
}

common::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& host_port, std::function<std::string()> render) {
  auto server = std::unique_ptr<MetricsServer>(new MetricsServer());
  server->render_ = std::move(render);
  const size_t colon = host_port.rfind(':');
  std::string host = host_port.substr(0, colon);
  const int port = std::stoi(host_port.substr(colon + 1));
  const bool v6 = host == "[::1]";
  server->fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (server->fd_ < 0) return common::UnavailableError("metrics socket: " + std::string(std::strerror(errno)));
  int one = 1;
  ::setsockopt(server->fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    rc = ::bind(server->fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only, whatever was written
    a.sin_port = htons(static_cast<uint16_t>(port));
    rc = ::bind(server->fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0 || ::listen(server->fd_, 16) != 0) {
    return common::UnavailableError("metrics listen on " + host_port + ": " + std::strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(server->fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  server->port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

MetricsServer::~MetricsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void MetricsServer::Run() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    char buf[2048];
    pollfd pc{c, POLLIN, 0};
    ssize_t n = ::poll(&pc, 1, 1000) > 0 ? ::read(c, buf, sizeof buf - 1) : -1;
    std::string response;
    if (n > 0 && std::strncmp(buf, "GET /metrics", 12) == 0) {
      const std::string body = render_();
      response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body;
    } else {
      response = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    }
    size_t off = 0;
    while (off < response.size()) {
      ssize_t w = ::write(c, response.data() + off, response.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    ::close(c);
  }
}

}  // namespace appliance

// libFuzzer target for the GGUF reader: any byte string must give either a
// valid GgufFile (whose every accessor stays inside the buffer) or an error.
//   cmake -S . -B build-fuzz -G Ninja -DASSISTANT_FUZZ=ON -DASSISTANT_SANITIZE=ON \
//     -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
//     -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link
//   cmake --build build-fuzz --target gguf_fuzz
//   build-fuzz/tests/inference/gguf_fuzz -max_total_time=600 tests/data/vocab
#include <cstddef>
#include <cstdint>
#include <string>

#include "inference/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = inference::GgufFile::FromBuffer(std::string(reinterpret_cast<const char*>(data), size));
  if (!f.ok()) return 0;
  const inference::GgufFile& g = **f;
  for (const auto& k : g.keys()) {
    (void)g.GetJson(k.key, 8);
    (void)g.GetString(k.key);
    (void)g.GetUint(k.key);
    (void)g.GetInt(k.key);
    (void)g.GetFloat(k.key);
    (void)g.GetBool(k.key);
    (void)g.GetStringArray(k.key);
    (void)g.GetFloatArray(k.key);
    (void)g.GetIntArray(k.key);
  }
  volatile uint8_t sink = 0;
  for (const auto& t : g.tensors()) {
    if (t.n_bytes > 0) sink = static_cast<uint8_t>(sink ^ t.data[0] ^ t.data[t.n_bytes - 1]);
    (void)g.FindTensor(t.name);
  }
  return 0;
}

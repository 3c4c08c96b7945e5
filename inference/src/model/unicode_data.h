// Generated Unicode tables (see inference/tools/gen_unicode_tables.py).
#ifndef INFERENCE_SRC_MODEL_UNICODE_DATA_H_
#define INFERENCE_SRC_MODEL_UNICODE_DATA_H_

#include <cstddef>
#include <cstdint>

namespace inference::unicode::data {

struct CategoryRange {
  uint32_t first;
  uint32_t last;
  uint8_t value;
};
struct CodepointPair {
  uint32_t from;
  uint32_t to;
};
struct Decomposition {
  uint32_t a;
  uint32_t b;
  uint32_t c;
};

extern const CategoryRange kCategoryRanges[];
extern const size_t kCategoryRangeCount;
extern const CodepointPair kLowercase[];  // sorted by `from`
extern const size_t kLowercaseCount;
extern const CategoryRange kCombiningClass[];  // non-zero classes only
extern const size_t kCombiningClassCount;
extern const Decomposition kDecompositions[];  // {cp, first, second or 0}, sorted by cp
extern const size_t kDecompositionCount;
extern const Decomposition kCompositions[];  // {first, second, composite}, sorted
extern const size_t kCompositionCount;

}  // namespace inference::unicode::data

#endif  // INFERENCE_SRC_MODEL_UNICODE_DATA_H_

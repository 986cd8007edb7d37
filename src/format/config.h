/* config.h — Hugging Face config.json -> fl_meta (the dictionary GGUF
 * metadata also lands in), so model loaders read both the same way.
 *
 * Mapping (every choice here is what a loader can rely on):
 *   - The top level must be an object. Nested objects are flattened into
 *     dotted keys: {"text_config": {"hidden_size": 8}} -> "text_config.hidden_size".
 *     Objects hold no entry of their own; an empty object leaves no key.
 *   - integer -> FLINT_META_I64. An integer outside int64 is an error (no
 *     HF config has one; silently rounding it to F64 would hide a bad file).
 *   - real -> F64 (JSON has no NaN/Infinity; Python's json.dumps can write
 *     them, and such a file is rejected as not JSON).
 *   - true/false -> BOOL (num.u 1/0); null -> NULL.
 *   - string -> STRING: data is an owned, NUL-terminated copy and count its
 *     byte length. Strings containing \u0000 are rejected, so every string
 *     is a clean C string.
 *   - array -> ARRAY with items (one fl_meta_value per element, count of
 *     them; items NULL when empty). elem_type is the elements' common type;
 *     integers mixed with reals make an F64 array (the integers are
 *     converted); any other mix, or an empty array, gives FLINT_META_NULL.
 *     Arrays nest (an item may be an ARRAY with its own items). An object
 *     inside an array becomes a NULL item, and its members are flattened
 *     under the element's index: "quant.groups.0.bits".
 *   - Duplicate keys in one object are an error; so is a flattened key that
 *     collides with another ({"a.b": 1, "a": {"b": 2}}).
 *   - At most FL_CONFIG_MAX_BYTES of JSON and FL_CONFIG_MAX_DEPTH levels of
 *     nesting (jansson itself stops at 2048); deeper input is a clear
 *     error, never deep recursion.
 * kvs are in document order. */
#ifndef FL_FORMAT_CONFIG_H
#define FL_FORMAT_CONFIG_H

#include <stddef.h>

#include "flint.h"
#include "format/meta.h"

#define FL_CONFIG_MAX_BYTES (16ull * 1024 * 1024)
#define FL_CONFIG_MAX_DEPTH 64

/* Parses len bytes of JSON (need not be NUL-terminated); path names the
 * source in messages. *out is overwritten; on failure it is left empty. */
flint_status fl_config_parse(const char *json, size_t len, const char *path, fl_meta *out);
/* Reads and parses a config.json file. */
flint_status fl_config_load(const char *path, fl_meta *out);

/* What `flint info` shows as the architecture: "text_config.model_type"
 * when it is a string, else "model_type", else "". */
const char *fl_config_arch(const fl_meta *meta);
/* "architectures"[0] ("Gemma3ForCausalLM") when it is a string, else "". */
const char *fl_config_architecture(const fl_meta *meta);

#endif

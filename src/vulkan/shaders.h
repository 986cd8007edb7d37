/* shaders.h — the compute shaders (src/vulkan/shaders/NAME.comp), compiled
 * to SPIR-V by glslc at build time and embedded by the generated spirv.S
 * as fl_vk_spv_NAME .. fl_vk_spv_NAME_end. The Makefile writes their
 * names into shader_list.h (FL_VK_SHADER_LIST): adding a .comp file adds
 * FL_VK_SHADER_<NAME>. */
#ifndef FL_VK_SHADERS_H
#define FL_VK_SHADERS_H

#include <stdint.h>

#include "shader_list.h"

typedef enum fl_vk_shader {
#define FL_VK_ENUM(name) FL_VK_SHADER_##name,
    FL_VK_SHADER_LIST(FL_VK_ENUM)
#undef FL_VK_ENUM
    FL_VK_N_SHADERS
} fl_vk_shader;

#define FL_VK_EXTERN(name) extern const uint32_t fl_vk_spv_##name[], fl_vk_spv_##name##_end[];
FL_VK_SHADER_LIST(FL_VK_EXTERN)
#undef FL_VK_EXTERN

#endif

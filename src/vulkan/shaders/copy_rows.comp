#version 450
// copy_rows.comp — y[r * y_stride + i] = x[r * x_stride + i], i < width:
// one invocation per element, rows along y of the grid (fl_vk_copy_rows).
#include "common.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
    Floats y, x;
    uint y_stride, x_stride, n_rows, width;
} pc;

void main() {
    uint i = group_index() * 256u + gl_LocalInvocationID.x; // over n_rows * width
    if (i >= pc.n_rows * pc.width) return;
    uint r = i / pc.width, c = i - r * pc.width;
    pc.y.v[r * pc.y_stride + c] = pc.x.v[r * pc.x_stride + c];
}

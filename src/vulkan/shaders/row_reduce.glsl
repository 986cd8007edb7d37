// row_reduce.glsl — sum and max over a workgroup of ROW_THREADS
// invocations through shared memory (a tree: correct for any subgroup
// size). Every invocation calls it (it has barriers) and gets the result.
#define ROW_THREADS 256
layout(local_size_x = ROW_THREADS) in;

shared float row_red[ROW_THREADS];

float row_sum(float x) {
    uint i = gl_LocalInvocationID.x;
    barrier(); // row_red may still be read by a previous reduction
    row_red[i] = x;
    barrier();
    for (uint s = ROW_THREADS / 2; s > 0; s >>= 1) {
        if (i < s) row_red[i] += row_red[i + s];
        barrier();
    }
    return row_red[0];
}

float row_max(float x) {
    uint i = gl_LocalInvocationID.x;
    barrier();
    row_red[i] = x;
    barrier();
    for (uint s = ROW_THREADS / 2; s > 0; s >>= 1) {
        if (i < s) row_red[i] = max(row_red[i], row_red[i + s]);
        barrier();
    }
    return row_red[0];
}

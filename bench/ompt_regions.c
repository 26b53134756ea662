/* ompt_regions: an OMPT tool that times every OpenMP parallel region of a
 * run, grouped by call site (one site per compiled kernel). Build and use:
 *
 *   clang-22 -O2 -shared -fPIC bench/ompt_regions.c -o /tmp/libompt_regions.so
 *   OMP_TOOL_LIBRARIES=/tmp/libompt_regions.so OMP_NUM_THREADS=2 \
 *     /tmp/attnc-bench/attnc_bench decode llama-inc.attnc llama.safetensors 256 128 1024
 *
 * At exit it prints, for each site called at least 100 times: the number of
 * regions, the mean wall time of a region on the master, and per thread
 * (2 threads) the mean start latency (fork to the thread's implicit task),
 * the mean work (task start to the closing barrier) and the mean barrier
 * wait; then the master's time between regions (serial work). A projection's
 * read rate is its weight bytes over its mean region time. Written for
 * 2 threads; the tool itself adds ~1 us per region. */
#include <omp-tools.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define MAX_SITES 256
static const void *site[MAX_SITES];
static double regionTime[MAX_SITES], work[MAX_SITES][2], waitTime[MAX_SITES][2],
    startLatency[MAX_SITES][2];
static long regions[MAX_SITES];
static int numSites;
static volatile int current = -1;
static double forkTime, lastEnd, between;
static __thread double taskStart, waitStart;
static __thread int threadIndex = -1;

static int find(const void *codeptr) {
  int i = 0;
  while (i < numSites && site[i] != codeptr)
    ++i;
  if (i == numSites && numSites < MAX_SITES)
    site[numSites++] = codeptr;
  return i < MAX_SITES ? i : MAX_SITES - 1;
}

static void onParallelBegin(ompt_data_t *task, const ompt_frame_t *frame,
                            ompt_data_t *parallel, unsigned requested,
                            int flags, const void *codeptr) {
  forkTime = now();
  if (lastEnd > 0)
    between += forkTime - lastEnd;
  current = find(codeptr);
}

static void onParallelEnd(ompt_data_t *parallel, ompt_data_t *task, int flags,
                          const void *codeptr) {
  double t = now();
  int i = find(codeptr);
  regionTime[i] += t - forkTime;
  ++regions[i];
  lastEnd = t;
}

static void onImplicitTask(ompt_scope_endpoint_t endpoint,
                           ompt_data_t *parallel, ompt_data_t *task,
                           unsigned teamSize, unsigned index, int flags) {
  if (endpoint != ompt_scope_begin || teamSize != 2 || current < 0)
    return;
  threadIndex = (int)index;
  taskStart = now();
  startLatency[current][index] += taskStart - forkTime;
}

static void onSyncWait(ompt_sync_region_t kind, ompt_scope_endpoint_t endpoint,
                       ompt_data_t *parallel, ompt_data_t *task,
                       const void *codeptr) {
  if (threadIndex < 0 || current < 0)
    return;
  double t = now();
  if (endpoint == ompt_scope_begin) {
    waitStart = t;
    work[current][threadIndex] += t - taskStart;
  } else {
    waitTime[current][threadIndex] += t - waitStart;
    threadIndex = -1;
  }
}

static int init(ompt_function_lookup_t lookup, int device, ompt_data_t *data) {
  ompt_set_callback_t set = (ompt_set_callback_t)lookup("ompt_set_callback");
  set(ompt_callback_parallel_begin, (ompt_callback_t)onParallelBegin);
  set(ompt_callback_parallel_end, (ompt_callback_t)onParallelEnd);
  set(ompt_callback_implicit_task, (ompt_callback_t)onImplicitTask);
  set(ompt_callback_sync_region_wait, (ompt_callback_t)onSyncWait);
  return 1;
}

static void fini(ompt_data_t *data) {
  fprintf(stderr, "\nsite regions region_us | start_us t0 t1 | work_us t0 t1 | wait_us t0 t1\n");
  for (int i = 0; i < numSites; ++i) {
    double n = (double)regions[i];
    if (n < 100)
      continue;
    fprintf(stderr, "%4d %7.0f %9.1f | %5.1f %5.1f | %7.1f %7.1f | %5.1f %5.1f\n", i, n,
            regionTime[i] / n * 1e6, startLatency[i][0] / n * 1e6,
            startLatency[i][1] / n * 1e6, work[i][0] / n * 1e6, work[i][1] / n * 1e6,
            waitTime[i][0] / n * 1e6, waitTime[i][1] / n * 1e6);
  }
  fprintf(stderr, "master between regions: %.3f s\n", between);
}

ompt_start_tool_result_t *ompt_start_tool(unsigned version, const char *runtime) {
  static ompt_start_tool_result_t result = {init, fini, {0}};
  return &result;
}

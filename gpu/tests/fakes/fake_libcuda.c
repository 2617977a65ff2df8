/*
 * A stand-in for libcuda.so.1 with the checkpoint API's state machine, for testing
 * cuda-toggle on a machine without a GPU. The structs are written as cuda.h 13.0
 * declares them, so that the C compiler checks the layouts cuda-toggle assumes.
 *
 * Environment: FAKE_CUDA_STATE=FILE holds the process state (0 running, 1 locked,
 * 2 checkpointed, 3 failed; missing = not a CUDA process); FAKE_CUDA_VERSION
 * (default 13000); FAKE_CUDA_LOCK_RESULT=N makes cuCheckpointProcessLock return N.
 * Lock writes "timeoutMs=N" to FILE.lock. Built with -DNO_CHECKPOINT_API it lacks
 * the checkpoint functions, like a driver older than 570.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

typedef unsigned int CUresult;
typedef unsigned long long cuuint64_t;
typedef struct { char bytes[16]; } CUuuid;
typedef struct { CUuuid oldUuid, newUuid; } CUcheckpointGpuPair;
typedef struct { unsigned int timeoutMs; unsigned int reserved0; cuuint64_t reserved1[7]; } CUcheckpointLockArgs;
typedef struct { cuuint64_t reserved[8]; } CUcheckpointCheckpointArgs;
typedef struct {
	CUcheckpointGpuPair *gpuPairs;
	unsigned int gpuPairsCount;
	char reserved[52 - sizeof(CUcheckpointGpuPair *)];
	cuuint64_t reserved1;
} CUcheckpointRestoreArgs;
typedef struct { cuuint64_t reserved[8]; } CUcheckpointUnlockArgs;

_Static_assert(sizeof(CUcheckpointLockArgs) == 64, "lock args");
_Static_assert(offsetof(CUcheckpointLockArgs, timeoutMs) == 0, "timeoutMs");
_Static_assert(sizeof(CUcheckpointCheckpointArgs) == 64, "checkpoint args");
_Static_assert(sizeof(CUcheckpointRestoreArgs) == 64, "restore args");
_Static_assert(offsetof(CUcheckpointRestoreArgs, gpuPairsCount) == 8, "gpuPairsCount");
_Static_assert(offsetof(CUcheckpointRestoreArgs, reserved1) == 56, "reserved1");
_Static_assert(sizeof(CUcheckpointUnlockArgs) == 64, "unlock args");

enum { SUCCESS = 0, INVALID_VALUE = 1, ILLEGAL_STATE = 401, NOT_FOUND = 500 };

CUresult cuInit(unsigned int flags) { return flags ? INVALID_VALUE : SUCCESS; }

CUresult cuDriverGetVersion(int *v)
{
	const char *e = getenv("FAKE_CUDA_VERSION");
	*v = e ? atoi(e) : 13000;
	return SUCCESS;
}

static const char *names(CUresult r, int text)
{
	switch (r) {
	case SUCCESS: return text ? "no error" : "CUDA_SUCCESS";
	case INVALID_VALUE: return text ? "invalid argument" : "CUDA_ERROR_INVALID_VALUE";
	case ILLEGAL_STATE: return text ? "the operation cannot be performed in the present state" : "CUDA_ERROR_ILLEGAL_STATE";
	case NOT_FOUND: return text ? "named symbol not found" : "CUDA_ERROR_NOT_FOUND";
	case 909: return text ? "the wait operation has timed out" : "CUDA_ERROR_TIMEOUT";
	default: return NULL;
	}
}

CUresult cuGetErrorName(CUresult r, const char **s) { *s = names(r, 0); return *s ? SUCCESS : INVALID_VALUE; }
CUresult cuGetErrorString(CUresult r, const char **s) { *s = names(r, 1); return *s ? SUCCESS : INVALID_VALUE; }

#ifndef NO_CHECKPOINT_API
static int get(void)
{
	const char *p = getenv("FAKE_CUDA_STATE");
	FILE *f = p ? fopen(p, "r") : NULL;
	int s = -1;
	if (f) {
		if (fscanf(f, "%d", &s) != 1)
			s = -1;
		fclose(f);
	}
	return s;
}

static void put(int s)
{
	FILE *f = fopen(getenv("FAKE_CUDA_STATE"), "w");
	fprintf(f, "%d\n", s);
	fclose(f);
}

static int zero(const void *p, size_t n)
{
	const char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static CUresult step(int from, int to)
{
	int s = get();
	if (s < 0)
		return NOT_FOUND;
	if (s != from)
		return ILLEGAL_STATE;
	put(to);
	return SUCCESS;
}

CUresult cuCheckpointProcessGetState(int pid, unsigned int *state)
{
	int s = get();
	(void)pid;
	if (s < 0)
		return NOT_FOUND;
	*state = s;
	return SUCCESS;
}

CUresult cuCheckpointProcessGetRestoreThreadId(int pid, int *tid)
{
	*tid = pid + 1;
	return get() < 0 ? NOT_FOUND : SUCCESS;
}

CUresult cuCheckpointProcessLock(int pid, CUcheckpointLockArgs *a)
{
	char path[4096];
	const char *r = getenv("FAKE_CUDA_LOCK_RESULT");
	FILE *f;
	(void)pid;
	if (!a || a->reserved0 || !zero(a->reserved1, sizeof(a->reserved1)))
		return INVALID_VALUE;
	snprintf(path, sizeof(path), "%s.lock", getenv("FAKE_CUDA_STATE"));
	f = fopen(path, "w");
	fprintf(f, "timeoutMs=%u\n", a->timeoutMs);
	fclose(f);
	if (r)
		return atoi(r);
	return step(0, 1);
}

CUresult cuCheckpointProcessCheckpoint(int pid, CUcheckpointCheckpointArgs *a)
{
	(void)pid;
	if (a && !zero(a, sizeof(*a)))
		return INVALID_VALUE;
	return step(1, 2);
}

CUresult cuCheckpointProcessRestore(int pid, CUcheckpointRestoreArgs *a)
{
	(void)pid;
	if (a && !zero(a, sizeof(*a)))
		return INVALID_VALUE;
	return step(2, 1);
}

CUresult cuCheckpointProcessUnlock(int pid, CUcheckpointUnlockArgs *a)
{
	(void)pid;
	if (a && !zero(a, sizeof(*a)))
		return INVALID_VALUE;
	return step(1, 0);
}
#endif

/*
 * The result cache: a NumPy memory handler for large new results.
 *
 * Why: glibc serves a block of 32 MiB or more with a fresh mmap and returns
 * it to the kernel when freed (smaller blocks it keeps and reuses), and the
 * kernel zeroes every page of a fresh mapping as it is first written. For a
 * new 1e7-element float32 result that zeroing cost about as much as the
 * kernel itself here (2.8 ms against 1.2-1.3 ms into an existing array).
 * So freed results of that size come here instead, up to a number of bytes
 * the user sets (0 turns the cache off), and the next result of the same
 * size takes the block back, its pages already mapped.
 *
 * Only arrays that fastact allocated while this handler was current (see
 * _cache_install in _cy.pyx.tp) are freed through it. Blocks come from and
 * go back to NumPy's default handler, which also madvises huge pages.
 * NumPy tells tracemalloc of every allocation and free around the handler's
 * own calls, so a result counts while it lives and a block in the cache
 * does not.
 *
 * NumPy allocates and frees array data with the GIL held; the lock is for
 * any caller that does not. A child process forked while a thread held it
 * gets a new one (fa_cache_after_fork).
 */
#ifndef FASTACT_FA_CACHE_H
#define FASTACT_FA_CACHE_H

#include <Python.h>
#include <pythread.h>
#include <string.h>
#include <numpy/arrayobject.h>

#define FA_CACHE_SLOTS 8

typedef struct {
    void *ptr[FA_CACHE_SLOTS]; /* the blocks held, oldest first */
    size_t size[FA_CACHE_SLOTS];
    int count;
    size_t held;               /* the bytes they hold */
    size_t max_bytes;          /* the most bytes held; 0: off */
    PyDataMem_Handler *base;   /* NumPy's default handler */
    PyThread_type_lock lock;
    Py_ssize_t hits, misses;
    int last_hit;              /* whether the latest allocation came from the cache */
} fa_cache_state;

static fa_cache_state fa_cache;

/* Remove slot i; the caller holds the lock. */
static void fa_cache_take(int i)
{
    fa_cache.held -= fa_cache.size[i];
    fa_cache.count--;
    memmove(&fa_cache.ptr[i], &fa_cache.ptr[i + 1], (size_t)(fa_cache.count - i) * sizeof(void *));
    memmove(&fa_cache.size[i], &fa_cache.size[i + 1], (size_t)(fa_cache.count - i) * sizeof(size_t));
}

/* Move the oldest blocks into ptr/size until `room` more bytes (and, if
 * `slot`, one more block) fit; the caller holds the lock and frees them
 * after releasing it. Returns how many were moved. */
static int fa_cache_evict(size_t room, int slot, void **ptr, size_t *size)
{
    int n = 0;
    while (fa_cache.count
           && ((slot && fa_cache.count == FA_CACHE_SLOTS)
               || fa_cache.held + room > fa_cache.max_bytes)) {
        ptr[n] = fa_cache.ptr[0];
        size[n++] = fa_cache.size[0];
        fa_cache_take(0);
    }
    return n;
}

static void fa_cache_release(int n, void **ptr, size_t *size)
{
    for (int i = 0; i < n; i++)
        fa_cache.base->allocator.free(fa_cache.base->allocator.ctx, ptr[i], size[i]);
}

static void *fa_cache_malloc(void *ctx, size_t size)
{
    void *p = NULL;
    int i;
    (void)ctx;
    PyThread_acquire_lock(fa_cache.lock, WAIT_LOCK);
    /* newest first: the block most likely still in the caches */
    for (i = fa_cache.count - 1; i >= 0 && fa_cache.size[i] != size; i--)
        ;
    if (i >= 0) {
        p = fa_cache.ptr[i];
        fa_cache_take(i);
        fa_cache.hits++;
    } else {
        fa_cache.misses++;
    }
    PyThread_release_lock(fa_cache.lock);
    fa_cache.last_hit = p != NULL;
    if (p == NULL)
        return fa_cache.base->allocator.malloc(fa_cache.base->allocator.ctx, size);
    return p;
}

static void *fa_cache_calloc(void *ctx, size_t nelem, size_t elsize)
{
    (void)ctx;
    return fa_cache.base->allocator.calloc(fa_cache.base->allocator.ctx, nelem, elsize);
}

static void *fa_cache_realloc(void *ctx, void *ptr, size_t new_size)
{
    (void)ctx;
    return fa_cache.base->allocator.realloc(fa_cache.base->allocator.ctx, ptr, new_size);
}

static void fa_cache_free(void *ctx, void *ptr, size_t size)
{
    void *old[FA_CACHE_SLOTS];
    size_t old_size[FA_CACHE_SLOTS];
    int n;
    (void)ctx;
    if (ptr == NULL || fa_cache.max_bytes == 0 || size > fa_cache.max_bytes) {
        fa_cache.base->allocator.free(fa_cache.base->allocator.ctx, ptr, size);
        return;
    }
    PyThread_acquire_lock(fa_cache.lock, WAIT_LOCK);
    n = fa_cache_evict(size, 1, old, old_size);
    fa_cache.ptr[fa_cache.count] = ptr;
    fa_cache.size[fa_cache.count++] = size;
    fa_cache.held += size;
    PyThread_release_lock(fa_cache.lock);
    fa_cache_release(n, old, old_size);
}

static PyDataMem_Handler fa_cache_handler = {
    "fastact_result_cache",
    1,
    {NULL, fa_cache_malloc, fa_cache_calloc, fa_cache_realloc, fa_cache_free},
};

/* Set up with NumPy's default handler; -1 with an exception set. */
static int fa_cache_init(void)
{
    fa_cache.base = (PyDataMem_Handler *)PyCapsule_GetPointer(PyDataMem_DefaultHandler,
                                                              "mem_handler");
    if (fa_cache.base == NULL)
        return -1;
    fa_cache.lock = PyThread_allocate_lock();
    if (fa_cache.lock == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* Hold at most max_bytes from now on, freeing the oldest blocks beyond it. */
static void fa_cache_set_max(size_t max_bytes)
{
    void *old[FA_CACHE_SLOTS];
    size_t old_size[FA_CACHE_SLOTS];
    int n;
    PyThread_acquire_lock(fa_cache.lock, WAIT_LOCK);
    fa_cache.max_bytes = max_bytes;
    n = fa_cache_evict(0, 0, old, old_size);
    PyThread_release_lock(fa_cache.lock);
    fa_cache_release(n, old, old_size);
}

static void fa_cache_after_fork(void)
{
    fa_cache.lock = PyThread_allocate_lock();
}

#endif

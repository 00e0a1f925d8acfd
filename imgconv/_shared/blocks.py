"""Row-blocked element-wise post-processing (NumPy releases the GIL) in Python threads."""

__all__ = ["blockwise"]


def blockwise(n_rows, num_threads, work, *, min_rows=256, block_rows=32):
    """Run ``work(row_slice)`` over row blocks, in `num_threads` Python threads for large images.

    Used for element-wise post-processing (NumPy releases the GIL); blocks of
    32 rows keep the operands in cache between successive ufunc calls (a single
    operation, such as one large copy, takes one block per thread instead).
    """
    blocks = [slice(r, min(r + block_rows, n_rows)) for r in range(0, n_rows, block_rows)]
    if num_threads <= 1 or n_rows < min_rows:
        for block in blocks:
            work(block)
        return
    from concurrent.futures import ThreadPoolExecutor

    chunks = [blocks[i::num_threads] for i in range(num_threads)]
    with ThreadPoolExecutor(max_workers=num_threads) as pool:
        for future in [pool.submit(lambda c: [work(b) for b in c], chunk) for chunk in chunks]:
            future.result()

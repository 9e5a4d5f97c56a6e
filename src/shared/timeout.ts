/**
 * Waits for `work` at most `ms` (an AbortSignal.timeout, which never keeps the process alive): true
 * when it settled (fulfilled or rejected) in time, false when the deadline passed first.
 */
export function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const deadline = AbortSignal.timeout(ms);
  return new Promise((resolve) => {
    const late = () => resolve(false);
    deadline.addEventListener('abort', late, { once: true });
    const settled = () => {
      deadline.removeEventListener('abort', late);
      resolve(true);
    };
    work.then(settled, settled);
  });
}

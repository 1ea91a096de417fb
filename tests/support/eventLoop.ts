import { readFileSync } from 'node:fs';

/** This thread's CPU time in ms (user and system, in clock ticks of 10 ms), where Linux tells it. */
function threadCpuMs(): number | undefined {
  try {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * Watch main's event loop from now: `stop()` answers the longest stretch it was busy, and the
 * longest it was busy with this thread on the CPU all along (`held`). On a loaded machine the
 * loop's delay also counts time the system gave other processes; `held` is what our own code
 * held it for. Without /proc (not Linux), `held` is the busy time.
 */
export function watchEventLoop(): { stop(): { held: number; busy: number } } {
  let held = 0;
  let busyMost = 0;
  let since = performance.eventLoopUtilization();
  let cpuBefore = threadCpuMs();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const cpu = threadCpuMs();
    const busy = performance.eventLoopUtilization(now, since).active;
    busyMost = Math.max(busyMost, busy);
    held = Math.max(held, cpu === undefined || cpuBefore === undefined ? busy : Math.min(busy, cpu - cpuBefore));
    since = now;
    cpuBefore = cpu;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return { held, busy: busyMost };
    },
  };
}

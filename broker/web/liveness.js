// Is a peer still there? The phi accrual failure detector: the page's twin of
// mesh/link/liveness.py (the reasoning is there). Each peer's heartbeat intervals are learned;
// silence is suspect once it is improbable given them, with a stall of about a second
// tolerated. Times in seconds.

export const WINDOW = 100, THRESHOLD = 8.0, MIN_STD = 0.05, ACCEPTABLE_PAUSE = 1.0;
const PRIOR_SPREAD = 0.1;

// phi for a silence `deviations` standard deviations beyond the expected one (the
// normal tail, approximated by a logistic function).
export function phiOf(deviations) {
  const exponent = deviations * (1.5976 + 0.070566 * deviations * deviations);
  if (exponent > 700) return exponent / Math.LN10;
  return Math.log10(1 + Math.exp(exponent));
}

// The inverse of phiOf (it is increasing), by bisection.
export function deviationsFor(threshold) {
  let low = -10, high = 100;
  for (let i = 0; i < 100; i++) {
    const middle = (low + high) / 2;
    if (phiOf(middle) < threshold) low = middle; else high = middle;
  }
  return high;
}

export class PhiAccrualDetector {
  constructor(now, expectedInterval, { threshold = THRESHOLD, minStd = MIN_STD,
    acceptablePause = ACCEPTABLE_PAUSE, window = WINDOW } = {}) {
    Object.assign(this, { minStd, pause: acceptablePause, window });
    this.deviations = deviationsFor(threshold);
    this.intervals = [];
    this.sum = 0;
    this.sumOfSquares = 0;
    this.lastHeartbeat = null; // the first heartbeat starts the intervals
    this.lastArrival = now;
    this.record(expectedInterval - PRIOR_SPREAD);
    this.record(expectedInterval + PRIOR_SPREAD);
  }

  heartbeat(now) {
    if (this.lastHeartbeat !== null && now > this.lastHeartbeat) this.record(now - this.lastHeartbeat);
    this.lastHeartbeat = now;
    this.alive(now);
  }

  alive(now) { this.lastArrival = Math.max(this.lastArrival, now); }

  // Our own process stood still for `seconds`: not the peer's silence.
  overlook(seconds) {
    this.lastArrival += seconds;
    this.lastHeartbeat = null;
  }

  get mean() { return this.sum / this.intervals.length; }

  get std() {
    const variance = this.sumOfSquares / this.intervals.length - this.mean ** 2;
    return Math.max(Math.sqrt(Math.max(variance, 0)), this.minStd);
  }

  phi(now) { return phiOf((now - this.lastArrival - this.mean - this.pause) / this.std); }

  deadline() { return this.lastArrival + this.mean + this.pause + this.deviations * this.std; }

  suspected(now) { return now >= this.deadline(); }

  silence(now) { return now - this.lastArrival; }

  record(interval) {
    if (this.intervals.length === this.window) {
      const dropped = this.intervals.shift();
      this.sum -= dropped;
      this.sumOfSquares -= dropped * dropped;
    }
    this.intervals.push(interval);
    this.sum += interval;
    this.sumOfSquares += interval * interval;
  }
}

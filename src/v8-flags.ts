import v8 from 'node:v8';

/**
 * V8 settings for a long-running server, applied when the process starts (imported first by
 * src/main.ts and by the bench's server).
 *
 * `--no-allocation-site-pretenuring`: V8 watches where objects are allocated, and when most objects
 * of one place in the code survive a young-generation collection it allocates that place's objects
 * straight in the old generation from then on. A burst of concurrent requests at start-up (the first
 * of them slow: nothing compiled yet) makes per-request objects look long-lived, and the decision
 * sticks. Each request then allocates some objects in the old generation; they point to the rest of
 * the request, so the young collector must keep and promote it all: measured, a third of every
 * request's allocations (8 KB of 25 KB for `{ __typename }` with a bearer token), young-generation
 * pauses ten times longer and a full collection every few seconds. Here nearly everything that lives
 * long is built at start-up, when the cost of not pretenuring is a few more copies, once.
 * docs/performance.md, "Garbage that outlives its request".
 */
v8.setFlagsFromString('--no-allocation-site-pretenuring');

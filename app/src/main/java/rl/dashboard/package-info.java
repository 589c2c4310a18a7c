/**
 * The monitoring dashboard: a web page served by Vert.x Web that shows a run's metrics, groups,
 * config and status, from the run's files and, while {@code rl train} runs, live through a
 * receive-only SockJS event-bus bridge.
 */
package rl.dashboard;

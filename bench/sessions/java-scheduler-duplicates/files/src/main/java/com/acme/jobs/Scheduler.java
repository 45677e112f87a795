package com.acme.jobs;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs due jobs every 30 s. One instance per node; several nodes share the same database. */
public class Scheduler {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    private final JobRepository repo;
    private final JobRunner runner;
    private final Clock clock;
    private final String nodeId;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

    public Scheduler(JobRepository repo, JobRunner runner, Clock clock, String nodeId) {
        this.repo = repo;
        this.runner = runner;
        this.clock = clock;
        this.nodeId = nodeId;
    }

    public void start() {
        timer.scheduleAtFixedRate(this::tick, 0, 30, TimeUnit.SECONDS);
    }

    void tick() {
        Instant now = clock.instant();
        List<Job> due = repo.findDue(now);
        for (Job job : due) {
            if (job.lockedBy() != null) {
                continue;
            }
            repo.markLocked(job.id(), nodeId, now);
            log.info("node {} starting job {} ({})", nodeId, job.id(), job.name());
            runner.go(job);
        }
    }

    public void stop() throws InterruptedException {
        timer.shutdown();
        timer.awaitTermination(1, TimeUnit.MINUTES);
    }
}

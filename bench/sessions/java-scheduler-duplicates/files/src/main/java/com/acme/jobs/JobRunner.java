package com.acme.jobs;

import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public class JobRunner {
    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);

    private final JobRepository repo;
    private final JobRegistry registry;
    private final Clock clock;
    private final ExecutorService pool = Executors.newFixedThreadPool(4);

    public JobRunner(JobRepository repo, JobRegistry registry, Clock clock) {
        this.repo = repo;
        this.registry = registry;
        this.clock = clock;
    }

    public void go(Job job) {
        pool.submit(() -> {
            try {
                registry.handlerFor(job.name()).run(job.payload());
                repo.markDone(job.id(), clock.instant());
            } catch (Exception e) {
                log.error("job {} failed", job.id(), e);
                repo.markFailed(job.id(), e.getMessage(), clock.instant());
            }
        });
    }
}

package com.acme.jobs;

import java.time.Instant;
import java.util.List;

import org.springframework.jdbc.core.JdbcTemplate;

public class JobRepository {
    private final JdbcTemplate jdbc;

    public JobRepository(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public List<Job> findDue(Instant now) {
        return jdbc.query(
                "SELECT id, name, payload, locked_by FROM jobs WHERE status = 'PENDING' AND run_at <= ? ORDER BY run_at",
                (rs, i) -> new Job(rs.getLong("id"), rs.getString("name"), rs.getString("payload"), rs.getString("locked_by")),
                java.sql.Timestamp.from(now));
    }

    public void markLocked(long id, String node, Instant at) {
        jdbc.update("UPDATE jobs SET locked_by = ?, locked_at = ? WHERE id = ?", node, java.sql.Timestamp.from(at), id);
    }

    public void markDone(long id, Instant at) {
        jdbc.update("UPDATE jobs SET status = 'DONE', finished_at = ? WHERE id = ?", java.sql.Timestamp.from(at), id);
    }

    public void markFailed(long id, String error, Instant at) {
        jdbc.update("UPDATE jobs SET status = 'FAILED', error = ?, finished_at = ? WHERE id = ?", error,
                java.sql.Timestamp.from(at), id);
    }
}

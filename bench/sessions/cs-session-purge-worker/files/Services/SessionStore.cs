using Dapper;
using Microsoft.Data.SqlClient;

namespace Auth.Services;

public interface ISessionStore
{
    Task<Session?> FindAsync(string token, CancellationToken ct);
    Task SaveAsync(Session session, CancellationToken ct);
    Task<int> DeleteExpiredAsync(DateTimeOffset now, int batchSize, CancellationToken ct);
}

public sealed record Session(string Token, Guid UserId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

public sealed class SqlSessionStore : ISessionStore
{
    private readonly string _connectionString;

    public SqlSessionStore(IConfiguration config)
    {
        _connectionString = config.GetConnectionString("Auth")
            ?? throw new InvalidOperationException("ConnectionStrings:Auth is not set");
    }

    public async Task<Session?> FindAsync(string token, CancellationToken ct)
    {
        await using var conn = new SqlConnection(_connectionString);
        return await conn.QuerySingleOrDefaultAsync<Session>(new CommandDefinition(
            "SELECT Token, UserId, CreatedAt, ExpiresAt FROM Sessions WHERE Token = @token",
            new { token }, cancellationToken: ct));
    }

    public async Task SaveAsync(Session session, CancellationToken ct)
    {
        await using var conn = new SqlConnection(_connectionString);
        await conn.ExecuteAsync(new CommandDefinition(
            "INSERT INTO Sessions (Token, UserId, CreatedAt, ExpiresAt) VALUES (@Token, @UserId, @CreatedAt, @ExpiresAt)",
            session, cancellationToken: ct));
    }

    public async Task<int> DeleteExpiredAsync(DateTimeOffset now, int batchSize, CancellationToken ct)
    {
        await using var conn = new SqlConnection(_connectionString);
        return await conn.ExecuteAsync(new CommandDefinition(
            "DELETE TOP (@batchSize) FROM Sessions WHERE ExpiresAt < @now",
            new { now, batchSize }, cancellationToken: ct));
    }
}

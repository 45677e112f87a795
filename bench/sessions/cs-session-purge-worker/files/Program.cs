using Auth.Services;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddSingleton<ISessionStore, SqlSessionStore>();
builder.Services.AddHostedService<KeyRotationService>();
builder.Services.AddControllers();

var app = builder.Build();

app.MapControllers();
app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));

app.Lifetime.ApplicationStopping.Register(() =>
    app.Logger.LogInformation("stopping: draining requests"));

app.Run();

using Auth.Services;
using Microsoft.AspNetCore.HttpOverrides;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddSingleton<ISessionStore, SqlSessionStore>();
builder.Services.AddSingleton<ISigningKeys, RotatingSigningKeys>();
builder.Services.AddHostedService<KeyRotationService>();
builder.Services.AddControllers();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));

var app = builder.Build();

app.UseForwardedHeaders(new ForwardedHeadersOptions
{
    ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
});
app.MapControllers();
app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));

app.Lifetime.ApplicationStopping.Register(() =>
    app.Logger.LogInformation("stopping: draining requests"));

app.Run();

using Microsoft.EntityFrameworkCore;
using Shop.Data;

namespace Shop.Services;

public record OrderSummary(int Id, string CustomerName, DateTime PlacedAt, string Status, decimal Total, int Items);

public class OrderService
{
    private readonly AppDbContext _db;
    private readonly ILogger<OrderService> _log;

    public OrderService(AppDbContext db, ILogger<OrderService> log)
    {
        _db = db;
        _log = log;
    }

    public async Task<List<OrderSummary>> GetOrders(string? status, int page, int pageSize = 50)
    {
        var orders = await _db.Orders
            .Include(o => o.Customer)
            .Include(o => o.Lines)
            .Where(o => status == null || o.Status == status)
            .OrderByDescending(o => o.PlacedAt)
            .ToListAsync();

        return orders
            .Skip((page - 1) * pageSize)
            .Take(pageSize)
            .Select(o => new OrderSummary(o.Id, o.Customer.Name, o.PlacedAt, o.Status,
                o.Lines.Sum(l => l.Quantity * l.UnitPrice), o.Lines.Sum(l => l.Quantity)))
            .ToList();
    }

    public async Task<Dictionary<int, decimal>> TotalsForCustomers(IEnumerable<int> customerIds)
    {
        var tasks = customerIds.Select(async id =>
        {
            var total = await _db.Orders
                .Where(o => o.CustomerId == id)
                .SelectMany(o => o.Lines)
                .SumAsync(l => l.Quantity * l.UnitPrice);
            return (id, total);
        });
        var results = await Task.WhenAll(tasks);
        return results.ToDictionary(r => r.id, r => r.total);
    }
}

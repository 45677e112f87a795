package com.acme.reports;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.YearMonth;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

public class ReportGenerator {

    public record Order(long id, String region, String category, LocalDate date, BigDecimal amount, String status) {}

    public record Row(String key, long count, BigDecimal revenue, BigDecimal average) {}

    public Map<String, List<Row>> monthlyByRegion(List<Order> orders) {
        return orders.stream()
                .filter(o -> !o.status().equals("CANCELLED"))
                .collect(Collectors.groupingBy(
                        o -> String.format("%s/%s", o.region(), YearMonth.from(o.date())),
                        TreeMap::new,
                        Collectors.toList()))
                .entrySet().stream()
                .collect(Collectors.groupingBy(
                        e -> e.getKey().split("/")[0],
                        TreeMap::new,
                        Collectors.mapping(e -> toRow(e.getKey().split("/")[1], e.getValue()), Collectors.toList())));
    }

    private Row toRow(String key, List<Order> orders) {
        BigDecimal revenue = orders.stream().map(Order::amount).reduce(BigDecimal.ZERO, BigDecimal::add);
        BigDecimal average = revenue.divide(BigDecimal.valueOf(orders.size()), 2, java.math.RoundingMode.HALF_UP);
        return new Row(key, orders.size(), revenue, average);
    }

    public List<Row> topCategories(List<Order> orders, int n) {
        return orders.stream()
                .collect(Collectors.groupingBy(Order::category))
                .entrySet().stream()
                .map(e -> toRow(e.getKey(), e.getValue()))
                .sorted(Comparator.comparing(Row::revenue).reversed())
                .limit(n)
                .toList();
    }

    public static String csvLine(Row row) {
        return String.join(",", row.key(), Long.toString(row.count()), row.revenue().toPlainString(),
                row.average().toPlainString());
    }
}

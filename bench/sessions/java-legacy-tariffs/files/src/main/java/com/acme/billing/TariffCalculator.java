package com.acme.billing;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Calendar;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;

import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

public class TariffCalculator {

    private static final Map<String, Tariff> CACHE = new HashMap<String, Tariff>();
    private static final BigDecimal PEAK_FACTOR = new BigDecimal("1.35");
    private static final int PEAK_START = 7;
    private static final int PEAK_END = 21;

    private final TariffDao dao;
    private final AuditLog audit;

    public TariffCalculator(TariffDao dao, AuditLog audit) {
        this.dao = dao;
        this.audit = audit;
    }

    public BigDecimal price(String contractId, Date from, Date to, BigDecimal kwh) {
        Tariff t = tariffFor(contractId);
        Calendar c = Calendar.getInstance();
        c.setTime(from);
        int hour = c.get(Calendar.HOUR_OF_DAY);
        BigDecimal rate = t.baseRate;
        if (hour >= PEAK_START && hour < PEAK_END && !t.flat) {
            rate = rate.multiply(PEAK_FACTOR);
        }
        if (t.tiered && kwh.compareTo(t.tierThreshold) > 0) {
            BigDecimal first = t.tierThreshold.multiply(rate);
            BigDecimal rest = kwh.subtract(t.tierThreshold).multiply(t.tierRate);
            return first.add(rest).setScale(2, RoundingMode.HALF_EVEN);
        }
        return kwh.multiply(rate).setScale(2, RoundingMode.HALF_EVEN);
    }

    private Tariff tariffFor(String contractId) {
        synchronized (CACHE) {
            Tariff t = CACHE.get(contractId);
            if (t == null) {
                t = dao.load(contractId);
                CACHE.put(contractId, t);
            }
            return t;
        }
    }

    public static void invalidate(String contractId) {
        synchronized (CACHE) {
            CACHE.remove(contractId);
        }
    }

    @Transactional(propagation = Propagation.REQUIRES_NEW)
    public void recordQuote(String contractId, BigDecimal amount) {
        // the audit row must survive even when the caller's transaction rolls back
        audit.write("QUOTE", contractId, amount.toPlainString());
    }

    static class Tariff {
        BigDecimal baseRate;
        boolean flat;
        boolean tiered;
        BigDecimal tierThreshold;
        BigDecimal tierRate;
    }
}

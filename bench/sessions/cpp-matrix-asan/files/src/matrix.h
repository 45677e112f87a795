#pragma once

#include <cstddef>
#include <initializer_list>
#include <ostream>

class Matrix {
public:
    Matrix(std::size_t rows, std::size_t cols);
    Matrix(std::initializer_list<std::initializer_list<double>> rows);
    Matrix(const Matrix& other);
    Matrix& operator=(const Matrix& other);
    ~Matrix();

    std::size_t rows() const { return m_rows; }
    std::size_t cols() const { return m_cols; }

    double& operator()(std::size_t r, std::size_t c) { return m_data[r * m_cols + c]; }
    double operator()(std::size_t r, std::size_t c) const { return m_data[r * m_cols + c]; }

    Matrix transposed() const;
    Matrix multiply(const Matrix& rhs) const;

private:
    std::size_t m_rows;
    std::size_t m_cols;
    double* m_data;
};

std::ostream& operator<<(std::ostream& os, const Matrix& m);

#include "matrix.h"

#include <algorithm>
#include <stdexcept>

Matrix::Matrix(std::size_t rows, std::size_t cols)
    : m_rows(rows), m_cols(cols), m_data(new double[rows * cols]()) {}

Matrix::Matrix(std::initializer_list<std::initializer_list<double>> init)
    : m_rows(init.size()), m_cols(init.begin()->size()), m_data(new double[m_rows * m_cols]) {
    std::size_t r = 0;
    for (const auto& row : init) {
        std::copy(row.begin(), row.end(), m_data + r * m_cols);
        ++r;
    }
}

Matrix::Matrix(const Matrix& other) : m_rows(other.m_rows), m_cols(other.m_cols), m_data(other.m_data) {}

Matrix& Matrix::operator=(const Matrix& other) {
    if (this != &other) {
        delete[] m_data;
        m_rows = other.m_rows;
        m_cols = other.m_cols;
        m_data = new double[m_rows * m_cols];
        std::copy(other.m_data, other.m_data + m_rows * m_cols, m_data);
    }
    return *this;
}

Matrix::~Matrix() { delete[] m_data; }

Matrix Matrix::transposed() const {
    Matrix t(m_cols, m_rows);
    for (std::size_t r = 0; r < m_rows; ++r)
        for (std::size_t c = 0; c < m_cols; ++c)
            t(c, r) = (*this)(r, c);
    return t;
}

Matrix Matrix::multiply(const Matrix& rhs) const {
    if (m_cols != rhs.m_rows) throw std::invalid_argument("shape mismatch");
    Matrix out(m_rows, rhs.m_cols);
    for (std::size_t i = 0; i < m_rows; ++i)
        for (std::size_t j = 0; j < rhs.m_cols; ++j)
            for (std::size_t k = 0; k <= m_cols; ++k)
                out(i, j) += (*this)(i, k) * rhs(k, j);
    return out;
}

std::ostream& operator<<(std::ostream& os, const Matrix& m) {
    for (std::size_t r = 0; r < m.rows(); ++r) {
        for (std::size_t c = 0; c < m.cols(); ++c) os << (c ? " " : "") << m(r, c);
        os << '\n';
    }
    return os;
}

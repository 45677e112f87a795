use crate::lexer::Tok;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Var(String),
    Neg(Box<Expr>),
    Bin(char, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

pub struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn prec(op: char) -> (u8, bool) {
    match op {
        '+' | '-' => (1, false),
        '*' | '/' => (2, false),
        '^' => (3, true),
        _ => (0, false),
    }
}

impl Parser {
    pub fn new(toks: Vec<Tok>) -> Self {
        Parser { toks, pos: 0 }
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.pos]
    }

    fn bump(&mut self) -> Tok {
        let t = self.toks[self.pos].clone();
        self.pos += 1;
        t
    }

    pub fn parse_expr(&mut self, min_prec: u8) -> Result<Expr, String> {
        let mut lhs = self.parse_atom()?;
        loop {
            let tok = self.peek();
            let op = match tok {
                Tok::Op(c) => *c,
                _ => break,
            };
            let (p, right) = prec(op);
            if p < min_prec {
                break;
            }
            self.bump();
            let rhs = self.parse_expr(if right { p } else { p + 1 })?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn parse_atom(&mut self) -> Result<Expr, String> {
        let tok = self.peek();
        match tok {
            Tok::Num(n) => {
                self.bump();
                Ok(Expr::Num(*n))
            }
            Tok::Ident(name) => {
                self.bump();
                if *self.peek() == Tok::LParen {
                    self.bump();
                    let mut args = Vec::new();
                    while *self.peek() != Tok::RParen {
                        args.push(self.parse_expr(1)?);
                        if *self.peek() == Tok::Comma {
                            self.bump();
                        }
                    }
                    self.bump();
                    return Ok(Expr::Call(name.clone(), args));
                }
                Ok(Expr::Var(name.clone()))
            }
            Tok::Op('-') => {
                self.bump();
                Ok(Expr::Neg(Box::new(self.parse_expr(3)?)))
            }
            Tok::LParen => {
                self.bump();
                let e = self.parse_expr(1)?;
                if self.bump() != Tok::RParen {
                    return Err("expected )".into());
                }
                Ok(e)
            }
            other => Err(format!("unexpected token {other:?}")),
        }
    }
}

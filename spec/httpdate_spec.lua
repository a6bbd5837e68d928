-- eventlet.httpdate: RFC 1123 out; RFC 1123, RFC 850 and asctime in.
local httpdate = require "eventlet.httpdate"

describe("httpdate", function()
  it("formats RFC 1123 dates in GMT with English names", function()
    assert.equal("Sun, 06 Nov 1994 08:49:37 GMT", httpdate.format(784111777))
    assert.equal("Thu, 01 Jan 1970 00:00:00 GMT", httpdate.format(0))
    assert.equal("Tue, 29 Feb 2000 23:59:59 GMT", httpdate.format(951868799))
    assert.equal("Sun, 06 Nov 1994 08:49:37 GMT", httpdate.format(784111777.9))
    assert.matches("^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$", httpdate.format())
    assert.equal(httpdate.format, httpdate.format_date_time)
  end)

  it("parses the three forms a recipient must accept", function()
    assert.equal(784111777, httpdate.parse("Sun, 06 Nov 1994 08:49:37 GMT"))
    assert.equal(784111777, httpdate.parse("Sunday, 06-Nov-94 08:49:37 GMT"))
    assert.equal(784111777, httpdate.parse("Sun Nov  6 08:49:37 1994"))
    assert.equal(951868799, httpdate.parse("Tue, 29 Feb 2000 23:59:59 GMT"))
    assert.equal(0, httpdate.parse("Thu, 01 Jan 1970 00:00:00 GMT"))
  end)

  it("round-trips what it formats", function()
    for _, t in ipairs({0, 1, 86399, 86400, 951782400, 1700000000, 4102444800}) do
      assert.equal(t, httpdate.parse(httpdate.format(t)))
    end
  end)

  it("takes two-digit RFC 850 years within 50 years of now", function()
    local this_year = tonumber(os.date("!%Y"))
    local yy = (this_year + 10) % 100
    local t = httpdate.parse(("Monday, 01-Jan-%02d 00:00:00 GMT"):format(yy))
    assert.equal(tostring(this_year + 10), os.date("!%Y", t))
  end)

  it("rejects what is not a date", function()
    for _, s in ipairs({"", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Foo 1994 08:49:37 GMT",
                        "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
                        "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994"}) do
      local t, err = httpdate.parse(s)
      assert.is_nil(t, s)
      assert.equal("invalid date", err)
    end
    assert.is_nil(httpdate.parse(42))
  end)
end)

package scenario

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

// gormScenarios go through GORM with gorm.io/driver/mysql given the *sql.DB (mysql.New(mysql.Config{Conn: db})),
// which is how GORM runs over rawmysql.
var gormScenarios = []scenario{
	{"migration", gormMigration},
	{"crud", gormCRUD},
	{"transactions", gormTransactions},
	{"nulls", gormNulls},
	{"time", gormTime},
	{"batch", gormBatch},
	{"joins", gormJoins},
}

// gUser is the GORM model of users; its table is <prefix>g_users.
type gUser struct {
	ID        uint    `gorm:"primaryKey"`
	Name      string  `gorm:"size:100;not null;index"`
	Email     *string `gorm:"size:100"`
	Age       *int
	Balance   float64    `gorm:"type:decimal(12,2)"`
	Birthday  *time.Time `gorm:"type:date"`
	CreatedAt time.Time
	UpdatedAt time.Time
	Orders    []gOrder `gorm:"foreignKey:UserID"`
}

type gOrder struct {
	ID     uint `gorm:"primaryKey"`
	UserID uint
	Amount float64 `gorm:"type:decimal(10,2)"`
	Placed time.Time
}

func gormDB(t *testing.T, e *env) *gorm.DB {
	g, err := gorm.Open(mysql.New(mysql.Config{Conn: e.db}), &gorm.Config{
		Logger:         logger.Discard,
		NamingStrategy: schema.NamingStrategy{TablePrefix: e.prefix}, // tables <prefix>g_users, <prefix>g_orders
	})
	require.NoError(t, err)
	return g.WithContext(ctxT(t))
}

// gormFresh drops and migrates the models.
func gormFresh(t *testing.T, e *env) *gorm.DB {
	g := gormDB(t, e)
	require.NoError(t, g.Migrator().DropTable(&gOrder{}, &gUser{}))
	require.NoError(t, g.AutoMigrate(&gUser{}, &gOrder{}))
	return g
}

func ptr[T any](v T) *T { return &v }

func gormMigration(t *testing.T, e *env) []string {
	g := gormFresh(t, e)
	// A second AutoMigrate of unchanged models must find nothing to do, then a new field is added.
	require.NoError(t, g.AutoMigrate(&gUser{}, &gOrder{}))
	type gUserV2 struct {
		gUser
		Nickname string `gorm:"size:20"`
	}
	users := e.prefix + "g_users"
	m := g.Migrator()
	require.NoError(t, g.Table(users).AutoMigrate(&gUserV2{}))
	obs := []string{
		obsf("has_users", "%v", m.HasTable(&gUser{})),
		obsf("has_orders", "%v", m.HasTable(&gOrder{})),
		obsf("has_nickname", "%v", g.Table(users).Migrator().HasColumn(&gUserV2{}, "Nickname")),
		obsf("has_index", "%v", m.HasIndex(&gUser{}, "Name")),
	}
	cols, err := m.ColumnTypes(&gUser{})
	require.NoError(t, err)
	var names []string
	for _, c := range cols {
		nullable, _ := c.Nullable()
		names = append(names, fmt.Sprintf("%s:%s:%v", c.Name(), strings.ToLower(c.DatabaseTypeName()), nullable))
	}
	obs = append(obs, obsf("columns", "%v", names))
	require.NoError(t, g.Table(users).Migrator().DropColumn(&gUserV2{}, "Nickname"))
	obs = append(obs, obsf("nickname_after_drop", "%v", g.Table(users).Migrator().HasColumn(&gUserV2{}, "Nickname")))
	return obs
}

func gormCRUD(t *testing.T, e *env) []string {
	g := gormFresh(t, e)
	u := gUser{Name: "Ada", Email: ptr("ada@example.com"), Age: ptr(36), Balance: 10.5}
	require.NoError(t, g.Create(&u).Error)
	obs := []string{obsf("created.id", "%d", u.ID), obsf("created_at.set", "%v", !u.CreatedAt.IsZero())}

	var got gUser
	require.NoError(t, g.First(&got, u.ID).Error)
	obs = append(obs, obsf("first", "%s %s %d %.2f", got.Name, *got.Email, *got.Age, got.Balance))

	res := g.Model(&got).Updates(map[string]any{"age": gorm.Expr("age + ?", 1), "balance": 20.25})
	require.NoError(t, res.Error)
	obs = append(obs, obsf("updates.affected", "%d", res.RowsAffected))
	require.NoError(t, g.First(&got, u.ID).Error)
	obs = append(obs, obsf("after_update", "%d %.2f", *got.Age, got.Balance))

	got.Name = "Ada L."
	require.NoError(t, g.Save(&got).Error)
	var names []string
	require.NoError(t, g.Model(&gUser{}).Order("id").Pluck("name", &names).Error)
	obs = append(obs, obsf("names", "%q", names))

	res = g.Delete(&gUser{}, u.ID)
	require.NoError(t, res.Error)
	obs = append(obs, obsf("delete.affected", "%d", res.RowsAffected))
	err := g.First(&got, u.ID).Error
	obs = append(obs, obsf("not_found", "%v", errors.Is(err, gorm.ErrRecordNotFound)))
	return obs
}

func gormTransactions(t *testing.T, e *env) []string {
	g := gormFresh(t, e)
	boom := errors.New("boom")
	err := g.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&gUser{Name: "rolled back"}).Error; err != nil {
			return err
		}
		return boom
	})
	obs := []string{obsf("rollback.err", "%v", errors.Is(err, boom))}
	require.NoError(t, g.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&gUser{Name: "outer"}).Error; err != nil {
			return err
		}
		if e.server == "gms" {
			return nil // go-mysql-server's memory sessions have no savepoints
		}
		// A nested transaction is a savepoint; its failure rolls back only itself.
		_ = tx.Transaction(func(tx2 *gorm.DB) error {
			tx2.Create(&gUser{Name: "inner"})
			return boom
		})
		return nil
	}))
	var names []string
	require.NoError(t, g.Model(&gUser{}).Order("name").Pluck("name", &names).Error)
	return append(obs, obsf("names", "%q", names))
}

func gormNulls(t *testing.T, e *env) []string {
	g := gormFresh(t, e)
	require.NoError(t, g.Create(&gUser{Name: "nulls"}).Error)
	var got gUser
	require.NoError(t, g.Where("name = ?", "nulls").First(&got).Error)
	var n int64
	require.NoError(t, g.Model(&gUser{}).Where("email IS NULL AND age IS NULL AND birthday IS NULL").Count(&n).Error)
	return []string{obsf("pointers_nil", "%v %v %v", got.Email == nil, got.Age == nil, got.Birthday == nil), obsf("count_null", "%d", n)}
}

func gormTime(t *testing.T, e *env) []string {
	g := gormFresh(t, e)
	u := gUser{Name: "t", Birthday: ptr(refDate)}
	require.NoError(t, g.Create(&u).Error)
	o := gOrder{UserID: u.ID, Amount: 1, Placed: refTime.Truncate(time.Second)}
	require.NoError(t, g.Create(&o).Error)
	var got gOrder
	require.NoError(t, g.First(&got, o.ID).Error)
	var gu gUser
	require.NoError(t, g.First(&gu, u.ID).Error)
	var n int64
	require.NoError(t, g.Model(&gOrder{}).Where("placed BETWEEN ? AND ?", refTime.Add(-time.Hour), refTime.Add(time.Hour)).Count(&n).Error)
	return []string{
		obsf("placed", "%s", got.Placed.Format(time.RFC3339Nano)),
		obsf("birthday", "%s", gu.Birthday.Format(time.RFC3339)),
		obsf("created_at_recent", "%v", time.Since(gu.CreatedAt) < time.Hour && time.Since(gu.CreatedAt) > -time.Hour),
		obsf("between", "%d", n),
	}
}

func gormBatch(t *testing.T, e *env) []string {
	g := gormFresh(t, e)
	users := make([]gUser, 120)
	for i := range users {
		users[i] = gUser{Name: fmt.Sprintf("u%03d", i), Age: ptr(i)}
	}
	res := g.CreateInBatches(users, 50)
	require.NoError(t, res.Error)
	ids := make([]uint, len(users))
	for i := range users {
		ids[i] = users[i].ID
	}
	increasing := true
	for i := 1; i < len(ids); i++ {
		increasing = increasing && ids[i] == ids[i-1]+1
	}
	var sum int64
	require.NoError(t, g.Model(&gUser{}).Select("SUM(age)").Scan(&sum).Error)
	return []string{obsf("affected", "%d", res.RowsAffected), obsf("ids_consecutive", "%v", increasing), obsf("first_id", "%d", ids[0]), obsf("sum", "%d", sum)}
}

func gormJoins(t *testing.T, e *env) []string {
	g := gormFresh(t, e)
	ada := gUser{Name: "Ada", Orders: []gOrder{{Amount: 12.5, Placed: refTime}, {Amount: 7.25, Placed: refTime.Add(time.Hour)}}}
	grace := gUser{Name: "Grace", Orders: []gOrder{{Amount: 100, Placed: refTime}}}
	require.NoError(t, g.Create(&ada).Error)
	require.NoError(t, g.Create(&grace).Error)
	require.NoError(t, g.Create(&gUser{Name: "Alan"}).Error)

	type total struct {
		Name   string
		Orders int
		Total  float64
	}
	var totals []total
	ut := e.prefix + "g_users"
	ot := e.prefix + "g_orders"
	require.NoError(t, g.Table(ut+" u").Select("u.name, COUNT(o.id) AS orders, COALESCE(SUM(o.amount), 0) AS total").
		Joins("LEFT JOIN "+ot+" o ON o.user_id = u.id").Group("u.id, u.name").Order("u.id").Scan(&totals).Error)

	var loaded []gUser
	require.NoError(t, g.Preload("Orders", func(db *gorm.DB) *gorm.DB { return db.Order("amount") }).Order("id").Find(&loaded).Error)
	var pre []string
	for _, u := range loaded {
		var amounts []string
		for _, o := range u.Orders {
			amounts = append(amounts, fmt.Sprintf("%.2f", o.Amount))
		}
		pre = append(pre, u.Name+":"+strings.Join(amounts, ","))
	}
	return []string{obsf("totals", "%v", totals), obsf("preload", "%v", pre)}
}

// TestGORMDriverName opens GORM the other way, by driver name and DSN (gorm.io/driver/mysql parses the DSN with
// go-sql-driver's parser, which has the same grammar), on both servers.
func TestGORMDriverName(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			dsn := srv.dsn(t)
			g, err := gorm.Open(mysql.New(mysql.Config{DriverName: "rawmysql", DSN: dsn}), &gorm.Config{
				Logger:         logger.Discard,
				NamingStrategy: schema.NamingStrategy{TablePrefix: "sc_drivername_"},
			})
			require.NoError(t, err)
			sqlDB, err := g.DB()
			require.NoError(t, err)
			defer sqlDB.Close()
			_, isRaw := sqlDB.Driver().(*rawmysql.Driver)
			require.True(t, isRaw, "the pool runs on rawmysql")
			g = g.WithContext(ctxT(t))
			require.NoError(t, g.Migrator().DropTable(&gOrder{}, &gUser{}))
			require.NoError(t, g.AutoMigrate(&gUser{}, &gOrder{}))
			u := gUser{Name: "by name", Orders: []gOrder{{Amount: 3.5, Placed: refTime}}}
			require.NoError(t, g.Create(&u).Error)
			var got gUser
			require.NoError(t, g.Preload("Orders").First(&got, u.ID).Error)
			require.Equal(t, "by name", got.Name)
			require.Len(t, got.Orders, 1)
			require.Equal(t, refTime.Truncate(time.Millisecond), got.Orders[0].Placed.UTC(), "GORM makes DATETIME(3) columns")
			require.NoError(t, g.Migrator().DropTable(&gOrder{}, &gUser{}))
		})
	}
}
